import { Webhook as StandardWebhook } from 'standardwebhooks';
import { DomainError, ErrorCode } from '@ringcloud/contracts-common';
import { WebhooksCreate, WebhooksDelete, WebhooksDeliveryList, WebhooksEventList, WebhooksGet, WebhooksList, WebhooksRotateSecret, WebhooksUpdate } from '@ringcloud/contracts-webhooks';
import { WebhookReceiver, eventually, holdTable } from '@ringcloud/testing';
import { DeliveriesRepository } from './delivery/deliveries.repository';
import { Client } from 'pg';
import { parseDatabaseUrl, quoteIdent } from '@ringcloud/nest-prisma';
import { EventsRepository, STORE_LOCK_KEY } from './ingest/events.repository';
import { MAX_SUBSCRIPTIONS_PER_ACCOUNT } from './subscriptions/subscriptions.service';
import { TestEnv } from './testing/fixture';

/** webhooks-service against real PostgreSQL and NATS (JetStream), with a real HTTP receiver. */
describe('webhooks-service', () => {
  let env: TestEnv;
  const receiver = new WebhookReceiver();
  let account = 5000;

  beforeAll(async () => {
    env = await TestEnv.start();
    await receiver.start();
  }, 60_000);
  afterAll(async () => {
    await receiver.stop();
    await env?.stop();
  });

  const create = (accountId: number, path: string, events: WebhooksCreate.Request['events'] = ['*']) =>
    env.rpc.send(WebhooksCreate.contract, { account_id: accountId, url: receiver.url(path), events });

  it('stores the secret encrypted, never in clear', async () => {
    await env.startApp();
    const hook = await create(++account, '/secret');
    const row = await env.prisma.subscription.findUniqueOrThrow({ where: { id: hook.id } });
    expect(row.secret).toMatch(/^v1:/);
    expect(row.secret).not.toContain(hook.secret.slice(6, 20));
    await expect(env.rpc.send(WebhooksGet.contract, { account_id: account + 1000, webhook_id: hook.id })).rejects.toMatchObject({
      code: ErrorCode.NotFound,
    });
  });

  it('creates no webhook for a requester that gave up while the database held the create (its retry would make a second one)', async () => {
    if (!env.replicas.length) await env.startApp();
    const accountId = ++account;
    const { released } = await holdTable(env.schema.databaseUrl, 'subscriptions', 1500);
    await expect(env.rpc.send(WebhooksCreate.contract, { account_id: accountId, url: receiver.url('/late'), events: ['*'] }, 400)).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
    await released;
    await new Promise((r) => setTimeout(r, 300)); // the service has its rows now
    expect(await env.prisma.subscription.count({ where: { accountId } })).toBe(0);
    await create(accountId, '/late');
    expect(await env.prisma.subscription.count({ where: { accountId } })).toBe(1);
  });

  it('two replicas deliver every event exactly once to a healthy receiver, in stream order per subscription', async () => {
    await env.startApp();
    const accounts = [++account, ++account, ++account];
    const hooks = await Promise.all(accounts.map((a) => create(a, `/twin/${a}`)));
    const events = accounts.flatMap((a) => Array.from({ length: 30 }, (_, i) => env.events.event(a, 'call.ringing', { call_id: `c${a}`, sequence: i })));
    await env.events.publish(...events);
    await eventually(() => accounts.every((a) => receiver.at(`/twin/${a}`).length >= 30), 30_000, 'ninety deliveries');
    await new Promise((r) => setTimeout(r, 500));
    for (const [i, a] of accounts.entries()) {
      const got = receiver.at(`/twin/${a}`);
      expect(got.map((r) => r.headers['webhook-id'])).toEqual(events.filter((e) => e.account_id === a).map((e) => e.id));
      for (const r of got) expect(new StandardWebhook(hooks[i].secret).verify(r.body, r.headers as Record<string, string>)).toBeTruthy();
    }
    const leases = await env.prisma.subscription.count({ where: { lockedBy: { not: null } } });
    expect(leases).toBe(0);
  });

  it('stores a redelivered or republished event once', async () => {
    const repository = new EventsRepository(env.sql);
    const a = ++account;
    await create(a, '/dedup');
    const event = env.events.event(a, 'user.created', { user: '1' });
    expect(await repository.store([event, event])).toEqual({ stored: 1, deliveries: 1 });
    expect(await repository.store([event])).toEqual({ stored: 0, deliveries: 0 });
    const feed = await env.rpc.send(WebhooksEventList.contract, { account_id: a, limit: 10 });
    expect(feed.events).toEqual([event]);
  });

  it('numbers a store after a concurrent store that took the lock first (seq order is commit order)', async () => {
    const repository = new EventsRepository(env.sql);
    const a = ++account;
    const { connectionString, schema } = parseDatabaseUrl(env.schema.databaseUrl);
    const other = new Client({ connectionString, options: `-c search_path=${quoteIdent(schema)}` });
    await other.connect();
    try {
      // Another ingester's store, in progress: it holds the lock and numbers its event only now.
      await other.query('BEGIN');
      await other.query('SELECT pg_advisory_xact_lock(hashtext(current_schema()), $1)', [STORE_LOCK_KEY]);
      let done = false;
      const waiting = repository.store([env.events.event(a, 'user.created')]).then((r) => ((done = true), r));
      await new Promise((r) => setTimeout(r, 300));
      expect(done).toBe(false);
      const first = env.events.event(a, 'user.updated');
      await other.query(`INSERT INTO events (id, account_id, type, body) VALUES ($1, $2, $3, '{}')`, [first.id, a, first.type]);
      await other.query('COMMIT');
      expect(await waiting).toEqual({ stored: 1, deliveries: 0 });
      const { rows } = await other.query<{ type: string }>('SELECT type FROM events WHERE account_id = $1 ORDER BY seq', [a]);
      expect(rows.map((r) => r.type)).toEqual(['user.updated', 'user.created']);
    } finally {
      await other.query('ROLLBACK').catch(() => undefined);
      await other.end();
    }
  });

  it('lets only one replica lease a subscription (FOR UPDATE SKIP LOCKED), and hands a dead replica\'s lease on', async () => {
    const repository = new DeliveriesRepository(env.sql);
    const claimIds = (owner: string) => repository.claim(owner, 1000, 100, 20).then((lanes) => lanes.map((l) => l.subscriptionId));
    const a = ++account;
    const hook = await create(a, '/lease');
    // A replica that died while holding the subscription: nobody may send until its lease runs out.
    await env.prisma.subscription.update({ where: { id: hook.id }, data: { lockedBy: 'dead-replica', lockedUntil: new Date(Date.now() + 60_000) } });
    await new EventsRepository(env.sql).store([env.events.event(a, 'call.ringing')]);
    const blocked = await Promise.all(['r1', 'r2', 'r3', 'r4'].map(claimIds));
    expect(blocked.flat()).not.toContain(hook.id);
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.at('/lease')).toHaveLength(0);

    await env.prisma.subscription.update({ where: { id: hook.id }, data: { lockedUntil: new Date(Date.now() - 1) } });
    const racing = await Promise.all(['r1', 'r2', 'r3', 'r4'].map(claimIds));
    // At most one of these claimers won (the running replicas may have been first).
    expect(racing.flat().filter((id) => id === hook.id).length).toBeLessThanOrEqual(1);
    await eventually(() => receiver.at('/lease').length === 1, 15_000, 'the delivery after the lease ran out');
    await new Promise((r) => setTimeout(r, 500));
    expect(receiver.at('/lease')).toHaveLength(1);
  }, 30_000);

  it('records a run and reads the next one in one statement, handing the lease back when nothing more is due', async () => {
    const repository = new DeliveriesRepository(env.sql);
    const a = ++account;
    const hook = await create(a, '/runs');
    // Leased by this test, so the running replicas leave it alone.
    await env.prisma.subscription.update({ where: { id: hook.id }, data: { lockedBy: 'me', lockedUntil: new Date(Date.now() + 60_000) } });
    const events = Array.from({ length: 3 }, (_, i) => env.events.event(a, 'call.ringing', { sequence: i }));
    await new EventsRepository(env.sql).store(events);
    const lease = () => env.prisma.subscription.findUniqueOrThrow({ where: { id: hook.id } }).then((s) => s.lockedBy);
    const ok = (lane: { due: Array<{ id: string }> } | null) => lane!.due.map((d) => ({ id: d.id, status: 200, latencyMs: 1, at: new Date() }));

    const first = await repository.finishRun(hook.id, 'me', 60_000, [], 2);
    expect(first!.due.map((d) => d.eventId)).toEqual([events[0].id, events[1].id]);
    expect(await repository.finishRun(hook.id, 'someone-else', 60_000, [], 2)).toBeNull();
    const second = await repository.finishRun(hook.id, 'me', 60_000, ok(first), 2);
    expect(second!.due.map((d) => d.eventId)).toEqual([events[2].id]);
    expect(await lease()).toBe('me');
    const third = await repository.finishRun(hook.id, 'me', 60_000, ok(second), 2);
    expect(third).toMatchObject({ subscriptionId: hook.id, due: [] });
    expect(await lease()).toBeNull();
    const rows = await env.prisma.delivery.findMany({ where: { subscriptionId: hook.id } });
    expect(rows.map((r) => [r.status, r.attempts])).toEqual([['delivered', 1], ['delivered', 1], ['delivered', 1]]);
    expect(await repository.finishRun(hook.id, 'me', 60_000, [], 2)).toBeNull();

    // A head waiting for its retry holds back the due deliveries after it: the lease goes back.
    await env.prisma.subscription.update({ where: { id: hook.id }, data: { lockedBy: 'me', lockedUntil: new Date(Date.now() + 60_000) } });
    const [late, next] = [env.events.event(a, 'call.ringing'), env.events.event(a, 'call.ringing')];
    await new EventsRepository(env.sql).store([late, next]);
    await env.prisma.delivery.updateMany({ where: { eventId: late.id }, data: { nextAttemptAt: new Date(Date.now() + 3600_000) } });
    expect(await repository.finishRun(hook.id, 'me', 60_000, [], 2)).toMatchObject({ due: [] });
    expect(await lease()).toBeNull();
  });

  it('keeps order behind a failing head and reports the retries', async () => {
    const a = ++account;
    receiver.on('/order', (_r, count) => ({ status: count <= 2 ? 500 : 200 }));
    const hook = await create(a, '/order');
    const events = await env.events.publish(env.events.event(a, 'call.started'), env.events.event(a, 'call.ringing'), env.events.event(a, 'call.answered'));
    await eventually(() => receiver.at('/order').length === 5, 15_000, 'three events, the first one retried twice');
    expect(receiver.at('/order').map((r) => r.headers['webhook-id'])).toEqual([events[0].id, events[0].id, events[0].id, events[1].id, events[2].id]);
    const deliveries = await env.rpc.send(WebhooksDeliveryList.contract, { account_id: a, webhook_id: hook.id, limit: 10 });
    expect(deliveries.map((d) => [d.type, d.status, d.attempt])).toEqual([
      ['call.answered', 'delivered', 1],
      ['call.ringing', 'delivered', 1],
      ['call.started', 'delivered', 3],
    ]);
  });

  it('refuses a url whose IPv6 address embeds a private or metadata IPv4 address, and stores nothing', async () => {
    for (const url of ['https://[2002:a9fe:a9fe::]/h', 'https://[64:ff9b::a9fe:a9fe]/h', 'https://[64:ff9b::a00:1]/h']) {
      const err = await env.rpc.send(WebhooksCreate.contract, { account_id: 5900, url, events: ['*'] }).catch((e) => e);
      expect([url, err]).toEqual([url, expect.objectContaining({ code: ErrorCode.BadRequest, message: expect.stringMatching(/^url points to a private, link-local or reserved address \(.*, which embeds /) })]);
    }
    expect(await env.rpc.send(WebhooksList.contract, { account_id: 5900 })).toEqual([]);
  });

  it('refuses a url with a NUL or other control characters with BAD_REQUEST (never a database error)', async () => {
    for (const url of ['https://example.com/a\u0000b', 'https://example.com/a\u0007b\u001b[31m']) {
      const err = await env.rpc.send(WebhooksCreate.contract, { account_id: 5901, url, events: ['*'] }).catch((e) => e);
      expect([url, err]).toEqual([url, expect.objectContaining({ code: ErrorCode.BadRequest, message: 'url must not contain control characters' })]);
    }
  });

  it('holds the cap of webhooks per account under concurrent creates: exactly the cap pass, the rest are refused', async () => {
    const results = await Promise.allSettled(Array.from({ length: MAX_SUBSCRIPTIONS_PER_ACCOUNT + 15 }, (_, i) => create(5902, `/cap-${i}`)));
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason);
    expect(results.length - refused.length).toBe(MAX_SUBSCRIPTIONS_PER_ACCOUNT);
    for (const err of refused) expect(err).toMatchObject({ code: ErrorCode.BadRequest, message: `an account may have at most ${MAX_SUBSCRIPTIONS_PER_ACCOUNT} webhooks` });
    expect(await env.rpc.send(WebhooksList.contract, { account_id: 5902 })).toHaveLength(MAX_SUBSCRIPTIONS_PER_ACCOUNT);
  });

  it('answers NOT_FOUND, never INTERNAL, to an update or a secret rotation that a delete overtook', async () => {
    if (!env.replicas.length) await env.startApp();
    const a = ++account;
    const outcomes = new Set<string>();
    for (let i = 0; i < 15; i++) {
      const hook = await create(a, `/race-${i}`);
      const webhook = { account_id: a, webhook_id: hook.id };
      const settled = await Promise.allSettled([
        env.rpc.send(WebhooksDelete.contract, webhook),
        env.rpc.send(WebhooksUpdate.contract, { ...webhook, enabled: false }),
        env.rpc.send(WebhooksRotateSecret.contract, webhook),
        env.rpc.send(WebhooksUpdate.contract, { ...webhook, description: 'x' }),
      ]);
      for (const r of settled) outcomes.add(r.status === 'fulfilled' ? 'ok' : (r.reason as DomainError).code);
      expect(await env.prisma.subscription.count({ where: { id: hook.id } })).toBe(0);
    }
    expect([...outcomes].filter((o) => o !== 'ok' && o !== ErrorCode.NotFound)).toEqual([]);
  }, 30_000);

  it('answers UNAVAILABLE-free typed errors for another account and bad ids', async () => {
    const err = await env.rpc.send(WebhooksGet.contract, { account_id: 1, webhook_id: 'wh_aaaaaaaaaaaaaaaaaaaaaaaaaa' }).catch((e) => e);
    expect(err).toBeInstanceOf(DomainError);
    expect(err).toMatchObject({ code: ErrorCode.NotFound, message: 'Webhook not found' });
  });
});
