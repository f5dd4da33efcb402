import { Injectable } from '@nestjs/common';
import type { CrmEvent } from '@ringcloud/contracts-events';
import { Sql } from '../infra/sql';

/** The transaction lock of a store (see EventsRepository), in the schema's own key space (see INGEST_LOCK_KEY). */
export const STORE_LOCK_KEY = 0x57484b02;

/** The exact body delivered, signed and served by the feed (fixed key order). */
export const eventBody = (event: CrmEvent) =>
  JSON.stringify({ id: event.id, type: event.type, timestamp: event.timestamp, account_id: event.account_id, data: event.data });

/**
 * Stores events and fans them out, one transaction per batch and one statement for all of it:
 * events are inserted in the batch's (stream) order, an event already stored (same id: a
 * redelivery, a second publication) is skipped with its deliveries, and each new event gets one
 * delivery row per enabled subscription of its account whose filter takes it. A transaction lock
 * keeps concurrent stores (two ingesters overlap only during a failover) one after the other, so
 * `seq` order is commit order: a feed reader paging with `after` never skips an event that commits late.
 * The lock is taken inside the statement, before any row is numbered (every input row is joined
 * with it), so a store is one round trip to the database: on the hot path of every webhook.
 */
@Injectable()
export class EventsRepository {
  constructor(private readonly sql: Sql) {}

  /**
   * Returns how many events were new and how many deliveries were created. The ingester passes its
   * IngestLock as `db`: the store then runs on the lock's connection (fenced, see IngestLock).
   */
  async store(events: readonly CrmEvent[], db: Pick<Sql, 'query'> = this.sql): Promise<{ stored: number; deliveries: number }> {
    if (!events.length) return { stored: 0, deliveries: 0 };
    const ids = events.map((e) => e.id);
    const accounts = events.map((e) => e.account_id);
    const types = events.map((e) => e.type);
    const bodies = events.map(eventBody);
    const rows = await db.query<{ stored: string; deliveries: string }>(
      `WITH locked AS MATERIALIZED (
         SELECT pg_advisory_xact_lock(hashtext(current_schema()), $5)
       ),
       input AS (
         SELECT t.* FROM locked, unnest($1::text[], $2::int[], $3::text[], $4::text[]) WITH ORDINALITY AS t(id, account_id, type, body, ord)
       ),
       fresh AS (
         SELECT DISTINCT ON (id) id, account_id, type, body, ord FROM input ORDER BY id, ord
       ),
       stored AS (
         INSERT INTO events (id, account_id, type, body)
         SELECT id, account_id, type, body FROM fresh ORDER BY ord
         ON CONFLICT (id) DO NOTHING
         RETURNING seq, id, account_id, type
       ),
       fanned AS (
         INSERT INTO deliveries (id, subscription_id, event_seq, event_id, event_type)
         SELECT 'dlv_' || translate(substr(replace(gen_random_uuid()::text, '-', ''), 1, 26), '0189', 'wxyz'), s.id, e.seq, e.id, e.type
           FROM stored e
           JOIN subscriptions s ON s.account_id = e.account_id AND s.enabled AND (e.type = ANY(s.events) OR '*' = ANY(s.events))
         RETURNING 1
       )
       SELECT (SELECT count(*) FROM stored) AS stored, (SELECT count(*) FROM fanned) AS deliveries`,
      [ids, accounts, types, bodies, STORE_LOCK_KEY],
    );
    return { stored: Number(rows[0].stored), deliveries: Number(rows[0].deliveries) };
  }
}
