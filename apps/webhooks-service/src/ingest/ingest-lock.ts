import { Client, QueryResultRow } from 'pg';
import { parseDatabaseUrl, quoteIdent } from '@ringcloud/nest-prisma';

/**
 * The advisory lock key of "this replica ingests CRM_EVENTS" (any constant of this service's own),
 * with the schema's hash as the first half: advisory locks are per database, and two deployments
 * (or test runs) in schemas of one database must not take each other's turn.
 */
export const INGEST_LOCK_KEY = 0x57484b01;

/**
 * One replica at a time pulls CRM_EVENTS, so events are stored (and numbered, and delivered) in
 * the stream's order; the others stand by and take over within a poll when it goes away. Held as a
 * PostgreSQL session advisory lock on a connection of its own: if that connection or the process
 * dies, PostgreSQL releases the lock. The ingester stores through that same connection (`query`),
 * which fences it: once its connection is gone — and only then can another replica take the lock —
 * nothing it still had in hand can be written, so two ingesters never both store.
 */
export class IngestLock {
  private client?: Client;
  private lost = false;

  constructor(private readonly databaseUrl: string) {}

  /** True once this replica holds the lock (and still does); false while another one holds it. */
  async tryAcquire(): Promise<boolean> {
    if (this.client && !this.lost) return true;
    await this.release();
    const { connectionString, schema } = parseDatabaseUrl(this.databaseUrl);
    const client = new Client({ connectionString, options: `-c search_path=${quoteIdent(schema)}` });
    client.on('error', () => (this.lost = true));
    client.on('end', () => (this.lost = true));
    this.lost = false;
    try {
      await client.connect();
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext(current_schema()), $1) AS locked', [INGEST_LOCK_KEY]);
      if (rows[0]?.locked) {
        this.client = client;
        return true;
      }
    } catch {
      // database away: not the ingester now
    }
    await client.end().catch(() => undefined);
    return false;
  }

  /** Runs a statement on the lock's own connection; fails when the lock is not held (any more). */
  async query<R extends QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
    if (!this.client || this.lost) throw new Error('the ingest lock is not held');
    return (await this.client.query<R>(text, values)).rows;
  }

  /** Whether the lock was lost since it was taken (its connection broke). */
  get held(): boolean {
    return !!this.client && !this.lost;
  }

  async release(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) await client.end().catch(() => undefined);
  }
}
