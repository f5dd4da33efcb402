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

  /**
   * Leases up to `limit` enabled subscriptions whose oldest pending delivery is due and reads each
   * with up to `runLength` pending deliveries from its head on — one statement.
   */
  async claim(owner: string, leaseMs: number, limit: number, runLength: number): Promise<Lane[]> {
    const rows = await this.sql.query<LaneRow>(`
      WITH due AS (
        SELECT c.id FROM subscriptions c
         WHERE c.enabled
           AND (c.locked_until IS NULL OR c.locked_until < now())
           AND (SELECT d.next_attempt_at FROM deliveries d
                 WHERE d.subscription_id = c.id AND d.status = 'pending'
                 ORDER BY d.event_seq LIMIT 1) <= now()
         LIMIT $3
         FOR UPDATE OF c SKIP LOCKED
      ),
      s AS (
        UPDATE subscriptions AS s
           SET locked_until = now() + ($1::int * interval '1 millisecond'), locked_by = $2
          FROM due
         WHERE s.id = due.id
        RETURNING s.id, s.account_id, s.url, s.enabled, s.secret, s.previous_secret, s.previous_secret_until
      )
      ${LANE_SELECT('true')}`, [leaseMs, owner, limit, runLength, []]);
    return toLanes(rows);
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
   * The end of a run of 2xx answers, in one statement: records them, then — if the subscription is
   * still enabled and its next pending delivery is due — extends the lease and reads up to
   * `runLength` pending deliveries from the head on; otherwise hands the lease back (the returned
   * lane's `due` is then empty and the lease no longer held). Null when the lease is no longer this replica's.
   */
  async finishRun(subscriptionId: string, owner: string, leaseMs: number, delivered: readonly Delivered[], runLength: number): Promise<Lane | null> {
    const ids = delivered.map((x) => x.id);
    const rows = await this.sql.query<LaneRow>(`
      WITH done AS (
        UPDATE deliveries d SET status = 'delivered', attempts = d.attempts + 1, last_attempt_at = u.at,
               response_status = u.status, latency_ms = u.latency, error = NULL
          FROM unnest($5::text[], $6::int[], $7::int[], $8::timestamptz[]) AS u(id, status, latency, at)
         WHERE d.id = u.id AND d.status = 'pending'
        RETURNING d.id
      ),
      head AS (
        -- This statement does not see its own updates: the ones just recorded are still "pending" here.
        SELECT coalesce((SELECT d.next_attempt_at <= now() FROM deliveries d
                          WHERE d.subscription_id = $2 AND d.status = 'pending' AND NOT (d.id = ANY($5::text[]))
                          ORDER BY d.event_seq LIMIT 1), false) AS due
      ),
      s AS (
        UPDATE subscriptions AS s
           SET locked_until = CASE WHEN s.enabled AND head.due THEN now() + ($1::int * interval '1 millisecond') END,
               locked_by = CASE WHEN s.enabled AND head.due THEN s.locked_by END
          FROM head
         WHERE s.id = $2 AND s.locked_by = $3
        RETURNING s.id, s.account_id, s.url, s.enabled, s.secret, s.previous_secret, s.previous_secret_until, s.locked_by IS NOT NULL AS kept
      )
      ${LANE_SELECT('s.kept')}`,
      [leaseMs, subscriptionId, owner, runLength, ids, delivered.map((x) => x.status), delivered.map((x) => x.latencyMs), delivered.map((x) => x.at)],
    );
    return toLanes(rows)[0] ?? null;
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

interface LaneRow {
  subscription_id: string;
  account_id: number;
  url: string;
  enabled: boolean;
  secret: string;
  previous_secret: string | null;
  previous_secret_until: Date | null;
  delivery_id: string | null;
  event_id: string;
  attempts: number;
  step: number;
  due: boolean;
  body: string;
}

/**
 * Reads the leased subscriptions of CTE `s` with up to $4 pending deliveries each, from the head on
 * (leaving out those in $5, recorded by the same statement), when `when` holds.
 */
const LANE_SELECT = (when: string) => `
      SELECT s.id AS subscription_id, s.account_id, s.url, s.enabled, s.secret, s.previous_secret, s.previous_secret_until,
             d.id AS delivery_id, d.event_id, d.attempts, d.step, d.next_attempt_at <= now() AS due, e.body
        FROM s
        LEFT JOIN LATERAL (
          SELECT * FROM deliveries d
           WHERE ${when} AND d.subscription_id = s.id AND d.status = 'pending' AND NOT (d.id = ANY($5::text[]))
           ORDER BY d.event_seq LIMIT $4
        ) d ON true
        LEFT JOIN events e ON e.seq = d.event_seq
       ORDER BY s.id, d.event_seq`;

function toLanes(rows: LaneRow[]): Lane[] {
  const lanes = new Map<string, Lane & { blocked: boolean }>();
  for (const row of rows) {
    let lane = lanes.get(row.subscription_id);
    if (!lane) {
      lane = {
        subscriptionId: row.subscription_id,
        accountId: row.account_id,
        url: row.url,
        enabled: row.enabled,
        secret: row.secret,
        previousSecret: row.previous_secret,
        previousSecretUntil: row.previous_secret_until,
        due: [],
        blocked: false,
      };
      lanes.set(row.subscription_id, lane);
    }
    // Only the due prefix: a delivery waiting for its retry holds back the ones after it.
    if (!row.delivery_id || !row.due) lane.blocked = true;
    if (!lane.blocked) lane.due.push({ id: row.delivery_id!, eventId: row.event_id, attempts: row.attempts, step: row.step, body: row.body });
  }
  return [...lanes.values()].map(({ blocked: _, ...lane }) => lane);
}
