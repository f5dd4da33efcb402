import { Pool, PoolClient } from 'pg';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { OUTBOX_TABLE_SQL, OutboxRelay, OutboxSql, OutboxStore, newOutboxId, outboxIdFor } from './index';

// Real PostgreSQL and NATS (the machine's, as every unit test): a schema and a stream of this file's own.
const DATABASE_URL = process.env.OUTBOX_TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/ringcloud_test';
const NATS_URL = process.env.NATS_TEST_URL ?? process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const tag = `outbox_test_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
const STREAM = { name: tag.toUpperCase(), subjects: [`${tag}.>`] };

/** The Prisma raw-SQL surface over plain pg, which proves the store needs nothing of a generated client. */
function sqlOn(run: (text: string, values: unknown[]) => Promise<{ rows: any[]; rowCount: number | null }>): OutboxSql {
  const render = (parts: TemplateStringsArray) => parts.reduce((text, part, i) => text + `$${i}` + part);
  return {
    $queryRaw: async (parts: TemplateStringsArray, ...values: unknown[]) => (await run(render(parts), values)).rows as any,
    $executeRaw: async (parts: TemplateStringsArray, ...values: unknown[]) => (await run(render(parts), values)).rowCount ?? 0,
  };
}

function databaseOn(pool: Pool) {
  return {
    ...sqlOn((text, values) => pool.query(text, values)),
    async $transaction<R>(fn: (tx: OutboxSql) => Promise<R>): Promise<R> {
      const client: PoolClient = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(sqlOn((text, values) => client.query(text, values)));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      } finally {
        client.release();
      }
    },
  };
}

describe('nest-outbox (PostgreSQL + JetStream)', () => {
  let pool: Pool;
  let db: ReturnType<typeof databaseOn>;
  let store: OutboxStore;
  let nc: NatsConnection;
  const relays: OutboxRelay[] = [];

  beforeAll(async () => {
    const admin = new Pool({ connectionString: DATABASE_URL, max: 1 });
    await admin.query(`CREATE SCHEMA "${tag}"`);
    await admin.end();
    pool = new Pool({ connectionString: DATABASE_URL, max: 6, options: `-c search_path="${tag}"` });
    await pool.query(OUTBOX_TABLE_SQL);
    db = databaseOn(pool);
    store = new OutboxStore(db);
    nc = await connect({ servers: NATS_URL });
  });
  afterEach(async () => {
    await Promise.all(relays.splice(0).map((r) => r.stop()));
    await pool.query('DELETE FROM outbox_events');
    await (await jetstreamManager(nc)).streams.purge(STREAM.name).catch(() => undefined);
  });
  afterAll(async () => {
    await (await jetstreamManager(nc)).streams.delete(STREAM.name).catch(() => undefined);
    await nc.close();
    await pool.query(`DROP SCHEMA "${tag}" CASCADE`);
    await pool.end();
  });

  const relay = (conn = nc) => {
    const r = new OutboxRelay({ store, js: jetstream(conn, { timeout: 1000 }), nc: conn, streams: [STREAM], sweepMs: 100, batch: 7 });
    relays.push(r);
    return r;
  };

  const append = (n: number, from = 0) =>
    db.$transaction(async (tx) => {
      const ids: string[] = [];
      for (let i = from; i < from + n; i++) {
        const id = newOutboxId();
        await store.append(tx, { id, subject: `${tag}.thing.${i % 3}`, payload: { n: i } });
        ids.push(id);
      }
      return ids;
    });

  async function streamed(): Promise<Array<{ subject: string; msgId?: string; body: any }>> {
    const total = (await (await jetstreamManager(nc)).streams.info(STREAM.name)).state.messages;
    if (!total) return [];
    const consumer = await jetstream(nc).consumers.get(STREAM.name, { deliver_policy: DeliverPolicy.All });
    const out: Array<{ subject: string; msgId?: string; body: any }> = [];
    const batch = await consumer.fetch({ max_messages: total, expires: 2000 });
    for await (const m of batch) {
      out.push({ subject: m.subject, msgId: m.headers?.get('Nats-Msg-Id'), body: m.json() });
      if (out.length === total) break;
    }
    return out;
  }

  async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > end) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('creates its streams, publishes committed rows in order with msgID = row id, and marks them sent', async () => {
    const r = relay();
    await r.onApplicationBootstrap();
    const ids = await append(20);
    r.eventsWritten();
    await until(async () => (await store.countUnpublished()) === 0);
    const got = await streamed();
    expect(got.map((m) => m.msgId)).toEqual(ids);
    expect(got.map((m) => m.body.n)).toEqual([...Array(20).keys()]);
    expect(got[4].subject).toBe(`${tag}.thing.1`);
  });

  it('never publishes a rolled-back row', async () => {
    const r = relay();
    await r.onApplicationBootstrap();
    await expect(
      db.$transaction(async (tx) => {
        await store.append(tx, { id: newOutboxId(), subject: `${tag}.x`, payload: { lost: true } });
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect(await store.countUnpublished()).toBe(0);
    expect(await r.flush()).toBe(0);
  });

  it('a row published again after a crash before marking is dropped by the stream (msgID)', async () => {
    const r = relay();
    await r.onApplicationBootstrap();
    const ids = await append(3);
    await r.flush();
    await pool.query('UPDATE outbox_events SET published_at = NULL');
    expect(await r.flush()).toBe(3);
    expect((await streamed()).map((m) => m.msgId)).toEqual(ids);
  });

  it('appending the same fact twice keeps one row (outboxIdFor)', async () => {
    const id = outboxIdFor('pbx1:1795700987.2:cdr');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(outboxIdFor('pbx1:1795700987.2:cdr')).toBe(id);
    expect(outboxIdFor('pbx1:1795700987.2:end')).not.toBe(id);
    const first = await db.$transaction((tx) => store.append(tx, { id, subject: `${tag}.cdr`, payload: { v: 1 } }));
    const second = await db.$transaction((tx) => store.append(tx, { id, subject: `${tag}.cdr`, payload: { v: 2 } }));
    expect([first, second]).toEqual([true, false]);
    expect(await store.countUnpublished()).toBe(1);
  });

  it('appendAll writes a batch in one statement, in order, and skips facts already there', async () => {
    const r = relay();
    await r.onApplicationBootstrap();
    const known = outboxIdFor(`${tag}:fact:1`);
    await db.$transaction((tx) => store.append(tx, { id: known, subject: `${tag}.batch`, payload: { n: 1 } }));
    const ids = [0, 1, 2, 3].map((n) => outboxIdFor(`${tag}:fact:${n}`));
    const written = await db.$transaction((tx) => store.appendAll(tx, ids.map((id, n) => ({ id, subject: `${tag}.batch`, payload: { n } }))));
    expect(written).toBe(3);
    expect(await db.$transaction((tx) => store.appendAll(tx, []))).toBe(0);
    r.eventsWritten();
    await until(async () => (await store.countUnpublished()) === 0);
    expect((await streamed()).map((m) => [m.msgId, m.body.n])).toEqual([[known, 1], [ids[0], 0], [ids[2], 2], [ids[3], 3]]);
  });

  it('keeps rows it cannot publish and sends them once JetStream answers', async () => {
    const r = relay();
    await r.onApplicationBootstrap();
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(STREAM.name); // no stream: every publish fails
    const ids = await append(5);
    expect(await r.flush()).toBe(0);
    expect(await store.countUnpublished()).toBe(5);
    await jsm.streams.add({ name: STREAM.name, subjects: STREAM.subjects, duplicate_window: 120 * 1e9 });
    await until(async () => (await store.countUnpublished()) === 0); // the sweep
    expect((await streamed()).map((m) => m.msgId)).toEqual(ids);
  });

  it('deletes rows published longer ago than keepPublishedMs, never one still unpublished', async () => {
    const r = new OutboxRelay({ store, js: jetstream(nc, { timeout: 1000 }), nc, streams: [STREAM], sweepMs: 100, keepPublishedMs: 3_600_000 });
    relays.push(r);
    await r.onApplicationBootstrap();
    const [old, recent] = [await append(3), await append(2, 3)];
    await r.flush();
    await pool.query(`UPDATE outbox_events SET published_at = now() - interval '2 hours' WHERE id = ANY($1::uuid[])`, [old]);
    await r.stop(); // an outage: what is appended now stays unpublished, and it is old
    const [waiting] = await append(1, 5);
    await pool.query(`UPDATE outbox_events SET created_at = now() - interval '3 days' WHERE id = $1`, [waiting]);
    expect(await r.prune()).toBe(3);
    const left = (await pool.query('SELECT id::text AS id FROM outbox_events ORDER BY created_at')).rows.map((row) => row.id);
    expect(left).toEqual([waiting, ...recent]);
    expect(await r.prune()).toBe(0);
    // 0 keeps them all.
    const keepAll = new OutboxRelay({ store, js: jetstream(nc), nc, streams: [STREAM], sweepMs: 100, keepPublishedMs: 0 });
    await pool.query(`UPDATE outbox_events SET published_at = now() - interval '30 days'`);
    expect(await keepAll.prune()).toBe(0);
    expect(await store.prunePublished(new Date(), 2)).toBe(3); // chunked: all of them, two at a time
  });

  it('lets several replicas drain one outbox without publishing anything twice or out of order', async () => {
    const conns: NatsConnection[] = await Promise.all([1, 2, 3].map(() => connect({ servers: NATS_URL })));
    try {
      const replicas = conns.map((c) => relay(c));
      await replicas[0].onApplicationBootstrap();
      const ids = [...(await append(25)), ...(await append(25, 25))];
      await Promise.all(replicas.flatMap((r: OutboxRelay) => [r.flush(), r.flush(), r.flush()]));
      await until(async () => (await store.countUnpublished()) === 0);
      expect((await streamed()).map((m) => m.msgId)).toEqual(ids);
    } finally {
      await Promise.all(relays.splice(0).map((r) => r.stop()));
      await Promise.all(conns.map((c) => c.close()));
    }
  });
});
