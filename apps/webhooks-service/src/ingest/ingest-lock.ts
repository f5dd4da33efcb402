import { Client } from 'pg';
import { parseDatabaseUrl } from '@ringcloud/nest-prisma';

/** The advisory lock key of "this replica ingests CRM_EVENTS" (any constant of this service's own). */
const INGEST_LOCK_KEY = 0x57484b01;

/**
 * One replica at a time pulls CRM_EVENTS, so events are stored (and numbered, and delivered) in
 * the stream's order; the others stand by and take over within a poll when it goes away. Held as a
 * PostgreSQL session advisory lock on a connection of its own: if that connection or the process
 * dies, PostgreSQL releases the lock.
 */
export class IngestLock {
  private client?: Client;
  private lost = false;

  constructor(private readonly databaseUrl: string) {}

  /** True once this replica holds the lock (and still does); false while another one holds it. */
  async tryAcquire(): Promise<boolean> {
    if (this.client && !this.lost) return true;
    await this.release();
    const client = new Client({ connectionString: parseDatabaseUrl(this.databaseUrl).connectionString });
    client.on('error', () => (this.lost = true));
    client.on('end', () => (this.lost = true));
    this.lost = false;
    try {
      await client.connect();
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [INGEST_LOCK_KEY]);
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
