import { JsMsg, jetstream } from '@nats-io/jetstream';
import { CRM_EVENTS_STREAM, CrmEvent } from '@ringcloud/contracts-events';
import { WebhooksEventList } from '@ringcloud/contracts-webhooks';
import { eventually } from '@ringcloud/testing';
import { TestEnv } from '../testing/fixture';
import { CrmEventsConsumer } from './crm-events.consumer';
import { INGEST_LOCK_KEY, IngestLock } from './ingest-lock';

/** Handing ingestion from one replica to another keeps the stream's order (real PostgreSQL and JetStream). */
describe('ingest fail-over', () => {
  let env: TestEnv;

  beforeAll(async () => {
    env = await TestEnv.start();
  }, 60_000);
  afterAll(() => env?.stop());

  const feed = async (account: number) => (await env.rpc.send(WebhooksEventList.contract, { account_id: account, limit: 100 })).events.map((e) => e.id);
  const ringing = (account: number, n: number) => Array.from({ length: n }, (_, i) => env.events.event(account, 'call.ringing', { call_id: `c${account}`, sequence: i }));
  const ids = (events: CrmEvent[]) => events.map((e) => e.id);

  /** Cuts a session's connection from the server side, as a network failure or a DBA would. */
  async function cutLockConnection(): Promise<number> {
    // Two-part key: classid = the schema's hash, objid = the constant (objsubid 2).
    const rows = await env.sql.query<{ cut: boolean }>(
      `SELECT pg_terminate_backend(pid) AS cut FROM pg_locks
        WHERE locktype = 'advisory' AND granted AND objsubid = 2 AND objid = $1 AND classid = hashtext(current_schema())::oid`,
      [INGEST_LOCK_KEY],
    );
    return rows.filter((r) => r.cut).length;
  }

  it('a replica taking over stores first what its predecessor pulled and never acknowledged', async () => {
    const account = 7001;
    const first = await env.startApp();
    const early = await env.events.publish(...ringing(account, 3));
    await eventually(async () => (await feed(account)).length === 3, 10_000, 'the first events stored');
    await env.stopApp(first);

    // An ingester that dies holding a pull: these reach nobody until their ack_wait (2 s here) is over.
    const orphaned = await env.events.publish(...ringing(account, 3));
    const durable = await jetstream(env.nc).consumers.get(CRM_EVENTS_STREAM.name, 'webhooks-service');
    const held: JsMsg[] = [];
    for await (const msg of await durable.fetch({ max_messages: 3, expires: 2000 })) held.push(msg);
    expect(held.map((m) => (m.json() as CrmEvent).id)).toEqual(ids(orphaned));

    await env.startApp();
    const later = await env.events.publish(...ringing(account, 3));
    await eventually(async () => (await feed(account)).length === 9, 20_000, 'all nine stored');
    expect(await feed(account)).toEqual([...ids(early), ...ids(orphaned), ...ids(later)]);
  });

  it('a replica whose lock connection is cut can store nothing more; the standby takes over in order', async () => {
    const account = 7002;
    await env.startApp(); // the standby
    const replicas = env.replicas;
    expect(replicas).toHaveLength(2);
    const ingester = replicas.find((app) => app.get(CrmEventsConsumer).ingesting)!;
    expect(ingester).toBeDefined();
    const before = await env.events.publish(...ringing(account, 5));
    await eventually(async () => (await feed(account)).length === 5, 10_000, 'stored by the first ingester');

    expect(await cutLockConnection()).toBe(1);
    const after = await env.events.publish(...ringing(account, 5));
    await eventually(async () => (await feed(account)).length === 10, 20_000, 'stored after the fail-over');
    expect(await feed(account)).toEqual([...ids(before), ...ids(after)]);
    // Somebody holds the lock again (the standby, or the first one reconnected), and only one.
    await eventually(() => replicas.filter((app) => app.get(CrmEventsConsumer).ingesting).length === 1, 10_000, 'one ingester');
  });

  it('fences: once its connection is gone, the lock writes nothing, and another one can be taken', async () => {
    const url = env.schema.databaseUrl;
    const a = new IngestLock(url);
    const b = new IngestLock(url);
    try {
      // Replicas of the previous tests are still running: stop them so the lock is free.
      for (const app of env.replicas) await env.stopApp(app);
      expect(await a.tryAcquire()).toBe(true);
      expect(await b.tryAcquire()).toBe(false);
      expect(await a.query<{ n: number }>('SELECT 1 AS n')).toEqual([{ n: 1 }]);
      expect(await cutLockConnection()).toBe(1);
      await expect(a.query('SELECT 1')).rejects.toThrow();
      await eventually(() => !a.held, 5000, 'the loss noticed');
      await expect(a.query('SELECT 1')).rejects.toThrow('the ingest lock is not held');
      expect(await b.tryAcquire()).toBe(true);
    } finally {
      await a.release();
      await b.release();
    }
  });
});
