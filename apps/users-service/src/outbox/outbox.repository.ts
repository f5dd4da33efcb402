import { Inject, Injectable } from '@nestjs/common';
import { PRISMA, Prisma, PrismaClient } from '../infra/database';

export interface OutboxRow {
  id: string;
  subject: string;
  payload: unknown;
}

/** The transactional outbox table: written with the change, drained by OutboxRelay. */
@Injectable()
export class OutboxRepository {
  constructor(@Inject(PRISMA) private readonly prisma: PrismaClient) {}

  /** Must be called inside the transaction that makes the change the event describes. */
  async append(tx: Prisma.TransactionClient, event: { id: string; subject: string; payload: object }): Promise<void> {
    await tx.outboxEvent.create({
      data: { id: event.id, subject: event.subject, payload: event.payload as Prisma.InputJsonObject, createdAt: new Date() },
    });
  }

  /**
   * Runs `work` on the oldest unpublished events, locked for this transaction, and marks the
   * ids it returns as published in the same transaction. A transaction-scoped advisory lock makes
   * one replica relay at a time, so events leave in created order; SKIP LOCKED keeps a second
   * replica from ever waiting on (or republishing) rows another one holds.
   */
  async drainBatch(limit: number, work: (rows: OutboxRow[]) => Promise<string[]>): Promise<{ claimed: number; published: number; busy: boolean }> {
    return this.prisma.$transaction(
      async (tx) => {
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

  countUnpublished(): Promise<number> {
    return this.prisma.outboxEvent.count({ where: { publishedAt: null } });
  }
}
