import { Inject, Injectable } from '@nestjs/common';
import type { CrmEvent } from '@ringcloud/contracts-events';
import { PRISMA, PrismaClient } from '../infra/database';
import { randomId } from '../infra/ids';

/** Namespace of the advisory locks that serialise one account's inserts (first key of the two-key form). */
const ACCOUNT_LOCK_NAMESPACE = 0x57484b; // "WHK"

/** Does a subscription's filter take this event type? */
export const matches = (filters: readonly string[], type: string) => filters.includes('*') || filters.includes(type);

/** The exact body delivered, signed and served by the feed (fixed key order). */
export const eventBody = (event: CrmEvent) =>
  JSON.stringify({ id: event.id, type: event.type, timestamp: event.timestamp, account_id: event.account_id, data: event.data });

/**
 * Stores events and fans them out, in one transaction per batch: an event already stored (same
 * id: a redelivery, a second publication) is skipped with its deliveries. An account's inserts are
 * serialised by an advisory lock so that `seq` order is commit order: a feed reader paging with
 * `after` never skips an event that commits late.
 */
@Injectable()
export class EventsRepository {
  constructor(@Inject(PRISMA) private readonly prisma: PrismaClient) {}

  /** Returns how many events were new and how many deliveries were created. */
  async store(events: readonly CrmEvent[]): Promise<{ stored: number; deliveries: number }> {
    if (!events.length) return { stored: 0, deliveries: 0 };
    const accounts = [...new Set(events.map((e) => e.account_id))].sort((a, b) => a - b);
    return this.prisma.$transaction(async (tx) => {
      // Sorted: two replicas locking overlapping accounts cannot deadlock.
      for (const account of accounts) await tx.$queryRaw`SELECT 1 AS locked FROM pg_advisory_xact_lock(${ACCOUNT_LOCK_NAMESPACE}::int, ${account}::int)`;
      const subscriptions = await tx.subscription.findMany({
        where: { accountId: { in: accounts }, enabled: true },
        select: { id: true, accountId: true, events: true },
      });
      let stored = 0;
      const deliveries: Array<{ id: string; subscriptionId: string; eventSeq: bigint; eventId: string; eventType: string }> = [];
      for (const event of events) {
        const rows = await tx.$queryRaw<Array<{ seq: bigint }>>`
          INSERT INTO events (id, account_id, type, body) VALUES (${event.id}, ${event.account_id}, ${event.type}, ${eventBody(event)})
          ON CONFLICT (id) DO NOTHING RETURNING seq`;
        if (!rows.length) continue;
        stored++;
        for (const sub of subscriptions) {
          if (sub.accountId !== event.account_id || !matches(sub.events, event.type)) continue;
          deliveries.push({ id: randomId('dlv'), subscriptionId: sub.id, eventSeq: rows[0].seq, eventId: event.id, eventType: event.type });
        }
      }
      if (deliveries.length) await tx.delivery.createMany({ data: deliveries });
      return { stored, deliveries: deliveries.length };
    });
  }
}
