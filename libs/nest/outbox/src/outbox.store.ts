import { createHash, randomUUID } from 'node:crypto';

/** The raw-SQL surface the outbox needs: any PrismaClient (or its transaction client) has it. */
export interface OutboxSql {
  $queryRaw<T = unknown>(query: TemplateStringsArray, ...values: unknown[]): PromiseLike<T>;
  $executeRaw(query: TemplateStringsArray, ...values: unknown[]): PromiseLike<number>;
}

/** A client that can also open an interactive transaction (PrismaClient). */
export interface OutboxDatabase extends OutboxSql {
  $transaction<R>(fn: (tx: any) => Promise<R>, options?: { timeout?: number; maxWait?: number }): Promise<R>;
}

export interface OutboxMessage {
  /** A UUID; JetStream's `msgID` when published (see newOutboxId, outboxIdFor). */
  id: string;
  /** The JetStream subject it is published to. */
  subject: string;
  /** The JSON body. */
  payload: object;
}

export interface OutboxRow {
  id: string;
  subject: string;
  payload: unknown;
}

/** A fresh message id. */
export const newOutboxId = (): string => randomUUID();

/**
 * The message id of a fact that may be appended more than once (a redelivered event handled
 * again): the same fact gives the same UUID, so the second append is a no-op (see append).
 */
export function outboxIdFor(factId: string): string {
  const h = createHash('sha256').update(factId, 'utf8').digest('hex');
  // RFC 9562 version 8 (custom) layout, so the column's uuid type accepts it.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((parseInt(h[16], 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * The transactional outbox table of one service (`outbox_events` in the service's own schema; the
 * Prisma model and SQL are in the README). Messages are appended in the transaction that makes the
 * change they describe, and drained by OutboxRelay.
 */
export class OutboxStore {
  private lastCreatedAt = 0;

  constructor(private readonly db: OutboxDatabase) {}

  /**
   * The relay sends rows in created_at order (millisecond column): each append of this process
   * gets a later millisecond than the one before, so the rows of one transaction keep their order.
   */
  private nextCreatedAt(): Date {
    this.lastCreatedAt = Math.max(Date.now(), this.lastCreatedAt + 1);
    return new Date(this.lastCreatedAt);
  }

  /**
   * Must be called inside the transaction that makes the change the message describes. Returns
   * false when a message with this id is already there (the fact was recorded before).
   */
  async append(tx: OutboxSql, message: OutboxMessage): Promise<boolean> {
    const written = await tx.$executeRaw`
      INSERT INTO outbox_events (id, subject, payload, created_at)
      VALUES (${message.id}::uuid, ${message.subject}, ${JSON.stringify(message.payload)}::jsonb, ${this.nextCreatedAt()})
      ON CONFLICT (id) DO NOTHING`;
    return written > 0;
  }

  /**
   * `append` for several messages in one statement (a batch of facts handled together), in this
   * order. Returns how many were new.
   */
  async appendAll(tx: OutboxSql, messages: readonly OutboxMessage[]): Promise<number> {
    if (!messages.length) return 0;
    const createdAt = messages.map(() => this.nextCreatedAt().toISOString());
    return tx.$executeRaw`
      INSERT INTO outbox_events (id, subject, payload, created_at)
      SELECT * FROM unnest(${messages.map((m) => m.id)}::uuid[], ${messages.map((m) => m.subject)}::text[],
                           ${messages.map((m) => JSON.stringify(m.payload))}::jsonb[], ${createdAt}::timestamptz[])
      ON CONFLICT (id) DO NOTHING`;
  }

  /**
   * Runs `work` on the oldest unpublished messages, locked for this transaction, and marks the
   * ids it returns as published in the same transaction. A transaction-scoped advisory lock makes
   * one replica relay at a time, so messages leave in created order; SKIP LOCKED keeps a second
   * replica from ever waiting on (or republishing) rows another one holds.
   */
  async drainBatch(limit: number, work: (rows: OutboxRow[]) => Promise<string[]>): Promise<{ claimed: number; published: number; busy: boolean }> {
    return this.db.$transaction(
      async (tx: OutboxSql) => {
        const [{ locked }] = await tx.$queryRaw<Array<{ locked: boolean }>>`SELECT pg_try_advisory_xact_lock(hashtext(current_schema() || '.outbox_relay')) AS locked`;
        if (!locked) return { claimed: 0, published: 0, busy: true };
        const rows = await tx.$queryRaw<OutboxRow[]>`
          SELECT id::text AS id, subject, payload FROM outbox_events
          WHERE published_at IS NULL
          ORDER BY created_at, id
          LIMIT ${limit}
          FOR UPDATE SKIP LOCKED`;
        if (!rows.length) return { claimed: 0, published: 0, busy: false };
        const published = await work(rows);
        if (published.length) {
          await tx.$executeRaw`UPDATE outbox_events SET published_at = now() WHERE id = ANY(${published}::uuid[])`;
        }
        return { claimed: rows.length, published: published.length, busy: false };
      },
      { timeout: 60_000, maxWait: 10_000 },
    );
  }

  /**
   * Deletes rows published before `before`, in chunks (short statements beside the relay's). Only
   * `append`'s "already recorded" answer reads them: keep them longer than a fact can come back.
   */
  async prunePublished(before: Date, chunk = 10_000): Promise<number> {
    let total = 0;
    for (;;) {
      const deleted = await this.db.$executeRaw`
        DELETE FROM outbox_events WHERE id IN (
          SELECT id FROM outbox_events WHERE published_at < ${before} LIMIT ${chunk})`;
      total += deleted;
      if (deleted < chunk) return total;
    }
  }

  async countUnpublished(): Promise<number> {
    const [{ n }] = await this.db.$queryRaw<Array<{ n: number }>>`SELECT count(*)::int AS n FROM outbox_events WHERE published_at IS NULL`;
    return n;
  }
}

/** The table every service using the outbox declares (Prisma model in the README; this is its SQL). */
export const OUTBOX_TABLE_SQL = `
CREATE TABLE outbox_events (
  id UUID NOT NULL PRIMARY KEY,
  subject TEXT NOT NULL,
  payload JSONB NOT NULL,
  created_at TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  published_at TIMESTAMPTZ(3)
);
CREATE INDEX outbox_events_published_at_created_at_idx ON outbox_events (published_at, created_at);
`;
