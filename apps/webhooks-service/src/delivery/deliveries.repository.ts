import { Inject, Injectable } from '@nestjs/common';
import { PRISMA, PrismaClient } from '../infra/database';

/** The head of a subscription's queue: its oldest pending delivery, with what sending it needs. */
export interface Head {
  subscriptionId: string;
  accountId: number;
  url: string;
  enabled: boolean;
  secret: string;
  previousSecret: string | null;
  previousSecretUntil: Date | null;
  delivery: null | {
    id: string;
    eventId: string;
    attempts: number;
    step: number;
    due: boolean;
    body: string;
  };
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
  constructor(@Inject(PRISMA) private readonly prisma: PrismaClient) {}

  /** Leases up to `limit` enabled subscriptions whose oldest pending delivery is due. */
  async claim(owner: string, leaseMs: number, limit: number): Promise<string[]> {
    const rows = await this.prisma.$queryRaw<Array<{ id: string }>>`
      UPDATE subscriptions AS s
         SET locked_until = now() + (${leaseMs}::int * interval '1 millisecond'), locked_by = ${owner}
        FROM (
          SELECT c.id FROM subscriptions c
           WHERE c.enabled
             AND (c.locked_until IS NULL OR c.locked_until < now())
             AND (SELECT d.next_attempt_at FROM deliveries d
                   WHERE d.subscription_id = c.id AND d.status = 'pending'
                   ORDER BY d.event_seq LIMIT 1) <= now()
           LIMIT ${limit}
           FOR UPDATE OF c SKIP LOCKED
        ) AS due
       WHERE s.id = due.id
      RETURNING s.id`;
    return rows.map((r) => r.id);
  }

  async release(subscriptionId: string, owner: string): Promise<void> {
    await this.prisma.$executeRaw`
      UPDATE subscriptions SET locked_until = NULL, locked_by = NULL WHERE id = ${subscriptionId} AND locked_by = ${owner}`;
  }

  /** Hands back every lease of this replica (shutdown). */
  async releaseAll(owner: string): Promise<void> {
    await this.prisma.$executeRaw`UPDATE subscriptions SET locked_until = NULL, locked_by = NULL WHERE locked_by = ${owner}`;
  }

  /**
   * Extends this replica's lease and reads the subscription's oldest pending delivery, in one
   * statement; null when the lease is no longer this replica's.
   */
  async renewAndHead(subscriptionId: string, owner: string, leaseMs: number): Promise<Head | null> {
    const rows = await this.prisma.$queryRaw<any[]>`
      WITH s AS (
        UPDATE subscriptions SET locked_until = now() + (${leaseMs}::int * interval '1 millisecond')
         WHERE id = ${subscriptionId} AND locked_by = ${owner}
        RETURNING id, account_id, url, enabled, secret, previous_secret, previous_secret_until
      )
      SELECT s.id AS subscription_id, s.account_id, s.url, s.enabled, s.secret, s.previous_secret, s.previous_secret_until,
             d.id AS delivery_id, d.event_id, d.attempts, d.step, d.next_attempt_at <= now() AS due, e.body
        FROM s
        LEFT JOIN LATERAL (
          SELECT * FROM deliveries d WHERE d.subscription_id = s.id AND d.status = 'pending' ORDER BY d.event_seq LIMIT 1
        ) d ON true
        LEFT JOIN events e ON e.seq = d.event_seq`;
    const r = rows[0];
    if (!r) return null;
    return {
      subscriptionId: r.subscription_id,
      accountId: r.account_id,
      url: r.url,
      enabled: r.enabled,
      secret: r.secret,
      previousSecret: r.previous_secret,
      previousSecretUntil: r.previous_secret_until,
      delivery: r.delivery_id
        ? { id: r.delivery_id, eventId: r.event_id, attempts: r.attempts, step: r.step, due: r.due, body: r.body }
        : null,
    };
  }

  /**
   * Writes an attempt's outcome if the delivery is still pending, and disables the subscription
   * when it is given up — one statement, so both or neither.
   */
  async record(subscriptionId: string, deliveryId: string, outcome: Outcome): Promise<void> {
    const status = outcome.status ?? null;
    const error = outcome.kind === 'delivered' ? null : outcome.error.slice(0, 500);
    if (outcome.kind === 'retry') {
      await this.prisma.$executeRaw`
        UPDATE deliveries SET attempts = attempts + 1, step = step + 1, last_attempt_at = now(),
               next_attempt_at = now() + (${Math.round(outcome.waitMs)}::int * interval '1 millisecond'),
               response_status = ${status}, latency_ms = ${outcome.latencyMs}, error = ${error}
         WHERE id = ${deliveryId} AND status = 'pending'`;
      return;
    }
    const disableReason = outcome.kind === 'failed' ? outcome.disableReason : null;
    await this.prisma.$executeRaw`
      WITH d AS (
        UPDATE deliveries SET status = ${outcome.kind}, attempts = attempts + 1, last_attempt_at = now(),
               response_status = ${status}, latency_ms = ${outcome.latencyMs}, error = ${error}
         WHERE id = ${deliveryId} AND status = 'pending'
        RETURNING id
      )
      UPDATE subscriptions SET enabled = false, disabled_reason = ${disableReason}, updated_at = now()
       WHERE id = ${subscriptionId} AND ${disableReason}::text IS NOT NULL AND EXISTS (SELECT 1 FROM d)`;
  }

  async list(subscriptionId: string, limit: number): Promise<DeliveryRow[]> {
    return this.prisma.$queryRaw<DeliveryRow[]>`
      SELECT id, event_id, event_type, status, attempts, next_attempt_at, last_attempt_at, created_at, response_status, latency_ms, error
        FROM deliveries WHERE subscription_id = ${subscriptionId}
       ORDER BY created_at DESC, event_seq DESC LIMIT ${limit}`;
  }

  /** Makes a delivery pending and due now, with the retry schedule from its start. */
  async retry(subscriptionId: string, deliveryId: string): Promise<DeliveryRow | null> {
    const rows = await this.prisma.$queryRaw<DeliveryRow[]>`
      UPDATE deliveries SET status = 'pending', step = 0, next_attempt_at = now()
       WHERE id = ${deliveryId} AND subscription_id = ${subscriptionId}
      RETURNING id, event_id, event_type, status, attempts, next_attempt_at, last_attempt_at, created_at, response_status, latency_ms, error`;
    return rows[0] ?? null;
  }

  /** Pending deliveries per subscription (the largest backlogs first). */
  async backlog(limit = 500): Promise<Array<{ subscription_id: string; pending: number }>> {
    const rows = await this.prisma.$queryRaw<Array<{ subscription_id: string; pending: bigint }>>`
      SELECT subscription_id, count(*) AS pending FROM deliveries WHERE status = 'pending'
       GROUP BY subscription_id ORDER BY count(*) DESC LIMIT ${limit}`;
    return rows.map((r) => ({ subscription_id: r.subscription_id, pending: Number(r.pending) }));
  }
}
