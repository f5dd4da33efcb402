import { Injectable } from '@nestjs/common';
import { Sql } from '../infra/sql';

/** A leased subscription and its oldest pending deliveries (the due ones, in event order). */
export interface Lane {
  subscriptionId: string;
  accountId: number;
  url: string;
  enabled: boolean;
  secret: string;
  previousSecret: string | null;
  previousSecretUntil: Date | null;
  /** Due deliveries from the head on (empty when the head is not due yet, or nothing is pending). */
  due: PendingDelivery[];
}

export interface PendingDelivery {
  id: string;
  eventId: string;
  attempts: number;
  step: number;
  body: string;
}

/** A 2xx, recorded with others of the same run in one statement. */
export interface Delivered {
  id: string;
  status: number;
  latencyMs: number;
  at: Date;
}

export type Outcome =
  | { kind: 'delivered'; status: number; latencyMs: number }
  | { kind: 'retry'; status?: number; latencyMs: number; error: string; waitMs: number }
  | { kind: 'failed'; status?: number; latencyMs: number; error: string; disableReason: string };

export interface DeliveryRow {
  id: string;
  event_id: string;
  event_type: string;
  status: string;
  attempts: number;
  next_attempt_at: Date;
  last_attempt_at: Date | null;
  created_at: Date;
  response_status: number | null;
  latency_ms: number | null;
  error: string | null;
}

/**
 * Deliveries and the per-subscription lease. One replica at a time holds a subscription (its
 * `locked_by`/`locked_until`), taken with FOR UPDATE SKIP LOCKED, so two replicas never send the
 * same attempt and a subscription has one attempt in flight, in event order.
 */
@Injectable()
export class DeliveriesRepository {
  constructor(private readonly sql: Sql) {}

  /** Leases up to `limit` enabled subscriptions whose oldest pending delivery is due. */
  async claim(owner: string, leaseMs: number, limit: number): Promise<string[]> {
    const rows = await this.sql.query<{ id: string }>(`
      UPDATE subscriptions AS s
         SET locked_until = now() + ($1::int * interval '1 millisecond'), locked_by = $2
        FROM (
          SELECT c.id FROM subscriptions c
           WHERE c.enabled
             AND (c.locked_until IS NULL OR c.locked_until < now())
             AND (SELECT d.next_attempt_at FROM deliveries d
                   WHERE d.subscription_id = c.id AND d.status = 'pending'
                   ORDER BY d.event_seq LIMIT 1) <= now()
           LIMIT $3
           FOR UPDATE OF c SKIP LOCKED
        ) AS due
       WHERE s.id = due.id
      RETURNING s.id`, [leaseMs, owner, limit]);
    return rows.map((r) => r.id);
  }

  async release(subscriptionId: string, owner: string): Promise<void> {
    await this.sql.query(`
      UPDATE subscriptions SET locked_until = NULL, locked_by = NULL WHERE id = $1 AND locked_by = $2`, [subscriptionId, owner]);
  }

  /** Hands back every lease of this replica (shutdown). */
  async releaseAll(owner: string): Promise<void> {
    await this.sql.query(`UPDATE subscriptions SET locked_until = NULL, locked_by = NULL WHERE locked_by = $1`, [owner]);
  }

  /**
   * Extends this replica's lease and reads the subscription with up to `limit` pending deliveries
   * from its head on, as long as they are due — one statement; null when the lease is no longer
   * this replica's.
   */
  async renewAndRead(subscriptionId: string, owner: string, leaseMs: number, limit: number): Promise<Lane | null> {
    const rows = await this.sql.query<any>(`
      WITH s AS (
        UPDATE subscriptions SET locked_until = now() + ($1::int * interval '1 millisecond')
         WHERE id = $2 AND locked_by = $3
        RETURNING id, account_id, url, enabled, secret, previous_secret, previous_secret_until
      )
      SELECT s.id AS subscription_id, s.account_id, s.url, s.enabled, s.secret, s.previous_secret, s.previous_secret_until,
             d.id AS delivery_id, d.event_id, d.attempts, d.step, d.next_attempt_at <= now() AS due, e.body
        FROM s
        LEFT JOIN LATERAL (
          SELECT * FROM deliveries d WHERE d.subscription_id = s.id AND d.status = 'pending' ORDER BY d.event_seq LIMIT $4
        ) d ON true
        LEFT JOIN events e ON e.seq = d.event_seq
       ORDER BY d.event_seq`, [leaseMs, subscriptionId, owner, limit]);
    const r = rows[0];
    if (!r) return null;
    const due: PendingDelivery[] = [];
    // Only the due prefix: a delivery waiting for its retry holds back the ones after it.
    for (const row of rows) {
      if (!row.delivery_id || !row.due) break;
      due.push({ id: row.delivery_id, eventId: row.event_id, attempts: row.attempts, step: row.step, body: row.body });
    }
    return {
      subscriptionId: r.subscription_id,
      accountId: r.account_id,
      url: r.url,
      enabled: r.enabled,
      secret: r.secret,
      previousSecret: r.previous_secret,
      previousSecretUntil: r.previous_secret_until,
      due,
    };
  }

  /** Records a run of 2xx answers at once (still pending ones only). */
  async recordDelivered(delivered: readonly Delivered[]): Promise<void> {
    if (!delivered.length) return;
    await this.sql.query(
      `UPDATE deliveries d SET status = 'delivered', attempts = d.attempts + 1, last_attempt_at = u.at,
              response_status = u.status, latency_ms = u.latency, error = NULL
         FROM unnest($1::text[], $2::int[], $3::int[], $4::timestamptz[]) AS u(id, status, latency, at)
        WHERE d.id = u.id AND d.status = 'pending'`,
      [delivered.map((x) => x.id), delivered.map((x) => x.status), delivered.map((x) => x.latencyMs), delivered.map((x) => x.at)],
    );
  }

  /**
   * Writes an attempt's outcome if the delivery is still pending, and disables the subscription
   * when it is given up — one statement, so both or neither.
   */
  async record(subscriptionId: string, deliveryId: string, outcome: Outcome): Promise<void> {
    const status = outcome.status ?? null;
    const error = outcome.kind === 'delivered' ? null : outcome.error.slice(0, 500);
    if (outcome.kind === 'retry') {
      await this.sql.query(`
        UPDATE deliveries SET attempts = attempts + 1, step = step + 1, last_attempt_at = now(),
               next_attempt_at = now() + ($1::int * interval '1 millisecond'),
               response_status = $2, latency_ms = $3, error = $4
         WHERE id = $5 AND status = 'pending'`, [Math.round(outcome.waitMs), status, outcome.latencyMs, error, deliveryId]);
      return;
    }
    const disableReason = outcome.kind === 'failed' ? outcome.disableReason : null;
    await this.sql.query(`
      WITH d AS (
        UPDATE deliveries SET status = $1, attempts = attempts + 1, last_attempt_at = now(),
               response_status = $2, latency_ms = $3, error = $4
         WHERE id = $5 AND status = 'pending'
        RETURNING id
      )
      UPDATE subscriptions SET enabled = false, disabled_reason = $6, updated_at = now()
       WHERE id = $7 AND $8::text IS NOT NULL AND EXISTS (SELECT 1 FROM d)`, [outcome.kind, status, outcome.latencyMs, error, deliveryId, disableReason, subscriptionId, disableReason]);
  }

  async list(subscriptionId: string, limit: number): Promise<DeliveryRow[]> {
    return this.sql.query<DeliveryRow>(`
      SELECT id, event_id, event_type, status, attempts, next_attempt_at, last_attempt_at, created_at, response_status, latency_ms, error
        FROM deliveries WHERE subscription_id = $1
       ORDER BY created_at DESC, event_seq DESC LIMIT $2`, [subscriptionId, limit]);
  }

  /** Makes a delivery pending and due now, with the retry schedule from its start. */
  async retry(subscriptionId: string, deliveryId: string): Promise<DeliveryRow | null> {
    const rows = await this.sql.query<DeliveryRow>(`
      UPDATE deliveries SET status = 'pending', step = 0, next_attempt_at = now()
       WHERE id = $1 AND subscription_id = $2
      RETURNING id, event_id, event_type, status, attempts, next_attempt_at, last_attempt_at, created_at, response_status, latency_ms, error`, [deliveryId, subscriptionId]);
    return rows[0] ?? null;
  }

  /** Pending deliveries per subscription (the largest backlogs first). */
  async backlog(limit = 500): Promise<Array<{ subscription_id: string; pending: number }>> {
    const rows = await this.sql.query<{ subscription_id: string; pending: string }>(`
      SELECT subscription_id, count(*) AS pending FROM deliveries WHERE status = 'pending'
       GROUP BY subscription_id ORDER BY count(*) DESC LIMIT $1`, [limit]);
    return rows.map((r) => ({ subscription_id: r.subscription_id, pending: Number(r.pending) }));
  }
}
