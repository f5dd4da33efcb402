import { Webhook as StandardWebhook } from 'standardwebhooks';
import { crmEventId, crmEventSubject } from '@ringcloud/contracts-events';
import { V1Client, eventually, spawnApp } from '@ringcloud/testing';
import { expectError, expectSuccess, newAccountId, sleep, useCrmEventFeed, useStack } from './support';

/**
 * Webhooks and the event feed over the real processes: CRM events published to CRM_EVENTS (the
 * producers' contract) reach a real HTTP receiver, signed as Standard Webhooks say (checked with
 * the `standardwebhooks` package), retried, disabled, isolated per subscription, and survive a
 * restart of webhooks-service.
 */
const generous = { requests: 1000, per_seconds: 1 };
const world = useStack({
  webhooks: true,
  env: {
    // Retries in fractions of a second instead of hours; an attempt timeout longer than the sleeper holds.
    WEBHOOKS_RETRY_SCHEDULE_MS: '300,600',
    WEBHOOKS_TIMEOUT_MS: '20000',
    WEBHOOKS_POLL_MS: '100',
    RATE_LIMITS: JSON.stringify(
      Object.fromEntries(
        ['webhooks.create', 'webhooks.list', 'webhooks.get', 'webhooks.update', 'webhooks.delete', 'webhooks.rotate_secret', 'webhooks.deliveries.list', 'webhooks.deliveries.retry', 'events.list'].map(
          (id) => [id, generous],
        ),
      ),
    ),
  },
});

const feed = useCrmEventFeed(world, 'e2e');
const { receiver } = feed;
const crmEvent = feed.event.bind(feed);
const publish = feed.publish.bind(feed);

async function createWebhook(client: V1Client, path: string, events: string[] = ['*']) {
  return expectSuccess(await client.post('/v1/webhooks/create', { url: receiver.url(path), events, description: `test ${path}` }));
}

function verify(secret: string, received: { headers: Record<string, any>; body: string }) {
  return new StandardWebhook(secret).verify(received.body, received.headers as Record<string, string>);
}

describe('webhook subscriptions', () => {
  it('create, get, list, update, delete — and the secret is shown only at creation', async () => {
    const client = await world.client(newAccountId(), 'RW');
    const created = await createWebhook(client, '/crud', ['call.ringing', 'call.completed']);
    expect(created).toMatchObject({ url: receiver.url('/crud'), events: ['call.ringing', 'call.completed'], enabled: true, description: 'test /crud' });
    expect(created.id).toMatch(/^wh_[a-z2-7]{26}$/);
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);

    const got = expectSuccess(await client.get(`/v1/webhooks/${created.id}`));
    expect(got).toMatchObject({ id: created.id, enabled: true, disabled_reason: null });
    expect(got.secret).toBeUndefined();
    const listed = expectSuccess(await client.get('/v1/webhooks'));
    expect(listed.map((w: any) => w.id)).toEqual([created.id]);
    expect(JSON.stringify(listed)).not.toContain('whsec_');

    const updated = expectSuccess(await client.post(`/v1/webhooks/${created.id}/update`, { events: ['*'], enabled: false, description: null }));
    expect(updated).toMatchObject({ events: ['*'], enabled: false, description: null });

    expect(expectSuccess(await client.post(`/v1/webhooks/${created.id}/delete`))).toBeNull();
    expectError(await client.get(`/v1/webhooks/${created.id}`), 404, 'Webhook not found');
    expectError(await client.post(`/v1/webhooks/${created.id}/delete`), 404, 'Webhook not found');
  });

  it('refuses bad input with a v1 error, RO keys for writes, and another account\'s ids', async () => {
    const account = newAccountId();
    const client = await world.client(account, 'RW');
    const readOnly = await world.client(account, 'RO');
    const other = await world.client(newAccountId(), 'RW');
    const mine = await createWebhook(client, '/mine');

    expectError(await readOnly.post('/v1/webhooks/create', { url: 'https://crm.example.com/', events: ['*'] }), 403, 'API key is read-only');
    expectSuccess(await readOnly.get(`/v1/webhooks/${mine.id}`));
    expectError(await client.post('/v1/webhooks/create', { events: ['*'] }), 400, 'url is required');
    expectError(await client.post('/v1/webhooks/create', { url: 'https://crm.example.com/', events: ['call.exploded'] }), 400, /events must be/);
    expectError(await client.post('/v1/webhooks/create', { url: 'https://crm.example.com/', events: [] }), 400, /events must be/);
    expectError(await client.post('/v1/webhooks/create', { url: 42, events: ['*'] }), 400, 'url must be a string');
    expectError(await client.raw('POST', '/v1/webhooks/create', { body: '{"params": {"url": ' }), 400, 'Malformed JSON body');
    expectError(await client.post(`/v1/webhooks/${mine.id}/update`, {}), 400, /at least one/);
    expectError(await client.post(`/v1/webhooks/${mine.id}/update`, { enabled: 'no' }), 400, 'enabled must be true or false');
    // SSRF: private, metadata and plain-http public destinations are refused at once.
    expectError(await client.post('/v1/webhooks/create', { url: 'https://10.0.0.1/hook', events: ['*'] }), 400, /private/);
    expectError(await client.post('/v1/webhooks/create', { url: 'https://169.254.169.254/latest/meta-data', events: ['*'] }), 400, /private/);
    expectError(await client.post('/v1/webhooks/create', { url: 'https://[fd00:ec2::254]/', events: ['*'] }), 400, /private/);
    expectError(await client.post('/v1/webhooks/create', { url: 'http://crm.example.com/hook', events: ['*'] }), 400, /https/);

    for (const path of [`/v1/webhooks/${mine.id}`, `/v1/webhooks/${mine.id}/deliveries`]) expectError(await other.get(path), 404, 'Webhook not found');
    for (const action of ['update', 'delete', 'rotate_secret']) {
      expectError(await other.post(`/v1/webhooks/${mine.id}/${action}`, action === 'update' ? { enabled: false } : undefined), 404, 'Webhook not found');
    }
    expectError(await other.post(`/v1/webhooks/${mine.id}/deliveries/dlv_aaaaaaaaaaaaaaaaaaaaaaaaaa/retry`), 404, 'Webhook not found');
    expectError(await client.get('/v1/webhooks/not-an-id'), 404, 'Webhook not found');
    expectError(await client.post(`/v1/webhooks/${mine.id}/deliveries/dlv_aaaaaaaaaaaaaaaaaaaaaaaaaa/retry`), 404, 'Delivery not found');
    expectError(await client.get(`/v1/webhooks/${mine.id}/deliveries`, { limit: '0' }), 400, /limit must be/);
    expectSuccess(await client.get(`/v1/webhooks/${mine.id}`));
  });
});

describe('delivery', () => {
  it('delivers each event once, signed, in order; filters by type; lists deliveries newest first', async () => {
    const account = newAccountId();
    const client = await world.client(account, 'RW');
    const all = await createWebhook(client, '/all');
    const completedOnly = await createWebhook(client, '/completed', ['call.completed']);
    const events = await publish(
      crmEvent(account, 'call.started', { call_id: 'c1', sequence: 0 }),
      crmEvent(account, 'call.ringing', { call_id: 'c1', sequence: 1, party: 'user' }),
      crmEvent(account, 'call.completed', { call_id: 'c1', sequence: 2, disposition: 'ANSWERED' }),
      crmEvent(account, 'user.created', { user: '1679728441', name: 'Ivan' }),
    );
    // A second copy of a fact (a producer's retry outside the stream's duplicate window) is stored and sent once.
    await feed.js.publish(crmEventSubject(account), JSON.stringify(events[1]));

    const got = await eventually(() => receiver.at('/all').length >= 4 && receiver.at('/all'), 15_000, 'four deliveries');
    expect(got.map((r) => r.headers['webhook-id'])).toEqual(events.map((e) => e.id));
    for (const [i, received] of got.entries()) {
      expect(verify(all.secret, received)).toEqual(events[i]);
      expect(() => verify(completedOnly.secret, received)).toThrow();
      expect(Number(received.headers['webhook-timestamp'])).toBeGreaterThan(Date.now() / 1000 - 60);
    }
    await eventually(() => receiver.at('/completed').length === 1, 10_000, 'the filtered delivery');
    expect(JSON.parse(receiver.at('/completed')[0].body).type).toBe('call.completed');

    await sleep(800);
    expect(receiver.at('/all')).toHaveLength(4);
    const deliveries = expectSuccess(await client.get(`/v1/webhooks/${all.id}/deliveries`));
    expect(deliveries).toHaveLength(4);
    expect(deliveries.map((d: any) => d.event_id)).toEqual(events.map((e) => e.id).reverse());
    expect(deliveries[0]).toMatchObject({ type: 'user.created', status: 'delivered', attempt: 1, response_status: 200, error: null, next_attempt_at: null });
    expect(deliveries[0].id).toMatch(/^dlv_/);
    expect(typeof deliveries[0].latency_ms).toBe('number');
    expect(expectSuccess(await client.get(`/v1/webhooks/${all.id}/deliveries`, { limit: '1' }))).toHaveLength(1);

    // Sent again on request, with the same webhook-id.
    const retried = expectSuccess(await client.post(`/v1/webhooks/${all.id}/deliveries/${deliveries[3].id}/retry`));
    expect(retried).toMatchObject({ id: deliveries[3].id, status: 'pending' });
    await eventually(() => receiver.at('/all').length === 5, 10_000, 'the retried delivery');
    expect(receiver.at('/all')[4].headers['webhook-id']).toBe(events[0].id);
  });

  it('retries after a 500 with the same webhook-id', async () => {
    const account = newAccountId();
    const client = await world.client(account, 'RW');
    receiver.on('/flaky', (_r, count) => ({ status: count === 1 ? 500 : 204 }));
    const hook = await createWebhook(client, '/flaky');
    const [event] = await publish(crmEvent(account, 'call.answered', { call_id: 'c2', sequence: 2 }));
    const got = await eventually(() => receiver.at('/flaky').length >= 2 && receiver.at('/flaky'), 15_000, 'the retry');
    expect(got.map((r) => r.headers['webhook-id'])).toEqual([event.id, event.id]);
    for (const received of got) expect(verify(hook.secret, received)).toEqual(event);
    const [delivery] = await eventually(async () => {
      const list = expectSuccess(await client.get(`/v1/webhooks/${hook.id}/deliveries`));
      return list[0]?.status === 'delivered' && list;
    }, 10_000, 'the delivery recorded as delivered');
    expect(delivery).toMatchObject({ attempt: 2, response_status: 204, error: null });
  });

  it('410 Gone disables the subscription, with the reason in its listing', async () => {
    const account = newAccountId();
    const client = await world.client(account, 'RW');
    receiver.on('/gone', () => ({ status: 410 }));
    const hook = await createWebhook(client, '/gone');
    await publish(crmEvent(account, 'user.updated', { user: '1' }));
    const listed = await eventually(async () => {
      const [webhook] = expectSuccess(await client.get('/v1/webhooks'));
      return !webhook.enabled && webhook;
    }, 15_000, 'the webhook disabled');
    expect(listed.disabled_reason).toMatch(/410/);
    await publish(crmEvent(account, 'user.updated', { user: '2' }));
    await sleep(1000);
    expect(receiver.at('/gone')).toHaveLength(1);
    const [delivery] = expectSuccess(await client.get(`/v1/webhooks/${hook.id}/deliveries`));
    expect(delivery).toMatchObject({ status: 'failed', response_status: 410 });
    expectError(await client.post(`/v1/webhooks/${hook.id}/deliveries/${delivery.id}/retry`), 400, /disabled/);
  });

  it('gives up after the retry schedule and disables the subscription; enabling it again resumes', async () => {
    const account = newAccountId();
    const client = await world.client(account, 'RW');
    let healthy = false;
    receiver.on('/dead', () => ({ status: healthy ? 200 : 503 }));
    const hook = await createWebhook(client, '/dead');
    await publish(crmEvent(account, 'call.started', { call_id: 'c3', sequence: 0 }));
    const listed = await eventually(async () => {
      const webhook = expectSuccess(await client.get(`/v1/webhooks/${hook.id}`));
      return !webhook.enabled && webhook;
    }, 15_000, 'the webhook disabled');
    // Schedule 300,600: three attempts, then given up.
    expect(listed.disabled_reason).toMatch(/gave up after 3 failed attempts \(last: HTTP 503\)/);
    expect(receiver.at('/dead')).toHaveLength(3);
    const [delivery] = expectSuccess(await client.get(`/v1/webhooks/${hook.id}/deliveries`));
    expect(delivery).toMatchObject({ status: 'failed', attempt: 3, response_status: 503, error: 'HTTP 503' });

    healthy = true;
    expect(expectSuccess(await client.post(`/v1/webhooks/${hook.id}/update`, { enabled: true }))).toMatchObject({ enabled: true, disabled_reason: null });
    expectSuccess(await client.post(`/v1/webhooks/${hook.id}/deliveries/${delivery.id}/retry`));
    await eventually(() => receiver.at('/dead').length === 4, 10_000, 'the manual retry');
  });

  it('after rotate_secret both secrets sign for a while', async () => {
    const account = newAccountId();
    const client = await world.client(account, 'RW');
    const hook = await createWebhook(client, '/rotated');
    const rotated = expectSuccess(await client.post(`/v1/webhooks/${hook.id}/rotate_secret`));
    expect(rotated.secret).not.toBe(hook.secret);
    expect(rotated.id).toBe(hook.id);
    const [event] = await publish(crmEvent(account, 'recording.ready', { call_id: 'c4', sequence: 5, rec_file: 'x.wav' }));
    const [received] = await eventually(() => receiver.at('/rotated').length === 1 && receiver.at('/rotated'), 10_000, 'the delivery');
    expect(String(received.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verify(rotated.secret, received)).toEqual(event);
    expect(verify(hook.secret, received)).toEqual(event);
  });

  it('a sleeping receiver does not delay another account', async () => {
    const [slowAccount, fastAccount] = [newAccountId(), newAccountId()];
    const slow = await world.client(slowAccount, 'RW');
    const fast = await world.client(fastAccount, 'RW');
    // The sleeper holds its first answer until the other account's delivery has arrived (15 s at most):
    // if that delivery waited behind the sleeper, it would come only after the sleeper answered.
    const fastArrived = new Promise<void>((resolve) => {
      const stop = receiver.onReceive((r) => r.path === '/fast' && (stop(), resolve()));
    });
    const atMost15s = new Promise<void>((resolve) => setTimeout(resolve, 15_000).unref());
    receiver.on('/sleepy', (_r, count) => ({ status: 200, holdUntil: count === 1 ? Promise.race([fastArrived, atMost15s]) : undefined }));
    await createWebhook(slow, '/sleepy');
    await createWebhook(fast, '/fast');
    const slowEvents = await publish(...Array.from({ length: 5 }, (_, i) => crmEvent(slowAccount, 'call.ringing', { call_id: 's', sequence: i })));
    await eventually(() => receiver.at('/sleepy').length === 1, 10_000, 'the sleeper got its first event');
    await publish(crmEvent(fastAccount, 'call.ringing', { call_id: 'f', sequence: 0 }));
    const [got] = await eventually(() => receiver.at('/fast').length === 1 && receiver.at('/fast'), 10_000, 'the fast delivery');
    const [held] = receiver.at('/sleepy');
    // It came while the sleeper's first attempt was still open, before any of the sleeper's other events.
    expect(held.answeredAt === undefined || held.answeredAt >= got.at).toBe(true);
    expect(receiver.at('/sleepy').filter((r) => r.at < got.at)).toHaveLength(1);
    // Then the sleeper's lane goes on: all five arrive, in order.
    const sleepy = await eventually(() => receiver.at('/sleepy').length === 5 && receiver.at('/sleepy'), 10_000, 'the sleeper\'s five events');
    expect(sleepy.map((r) => r.headers['webhook-id'])).toEqual(slowEvents.map((e) => e.id));
  });
});

describe('event feed', () => {
  it('returns the account\'s events in order, pages with after/limit and X-Next-Cursor, refuses an unknown after', async () => {
    const account = newAccountId();
    const client = await world.client(account, 'RO');
    const events = await publish(...Array.from({ length: 5 }, (_, i) => crmEvent(account, 'call.ringing', { call_id: 'feed', sequence: i })));
    await publish(crmEvent(newAccountId(), 'user.created', { user: 'someone else' }));
    const all = await eventually(async () => {
      const res = await client.get('/v1/events');
      return res.status === 200 && res.body.data.length === 5 && res;
    }, 15_000, 'the feed holding the five events');
    expect(all.body.data).toEqual(events);
    expect(all.headers.get('x-next-cursor')).toBeNull();

    const first = await client.get('/v1/events', { limit: '2' });
    expect(expectSuccess(first).map((e: any) => e.id)).toEqual(events.slice(0, 2).map((e) => e.id));
    expect(first.headers.get('x-next-cursor')).toBe(events[1].id);
    const second = await client.get('/v1/events', { after: first.headers.get('x-next-cursor')!, limit: '2' });
    expect(expectSuccess(second).map((e: any) => e.id)).toEqual(events.slice(2, 4).map((e) => e.id));
    const last = await client.get('/v1/events', { after: events[3].id, limit: '2' });
    expect(expectSuccess(last).map((e: any) => e.id)).toEqual([events[4].id]);
    expect(last.headers.get('x-next-cursor')).toBeNull();
    expect(expectSuccess(await client.get('/v1/events', { after: events[4].id }))).toEqual([]);

    expectError(await client.get('/v1/events', { after: crmEventId('never published') }), 400, /unknown or expired/);
    expectError(await client.get('/v1/events', { after: 'evt_bad' }), 400, /after must be/);
    for (const limit of ['0', '1001', 'ten']) expectError(await client.get('/v1/events', { limit }), 400, 'limit must be a whole number from 1 to 1000');
    expectError(await client.get('/v1/events', { cursor: 'x' }), 400, 'cursor must be an event id (evt_…)');
    // `cursor` pages like `after` (the other v1 lists' name); unknown parameters are ignored (v1 section 1).
    const viaCursor = await client.get('/v1/events', { cursor: first.headers.get('x-next-cursor')!, limit: '2', _: '1796300000000' });
    expect(expectSuccess(viaCursor)).toEqual(expectSuccess(second));
    expectError(await client.get('/v1/events', { cursor: events[1].id, after: events[2].id }), 400, 'after and cursor name the same position: give one');
  });
});

describe('restarts', () => {
  it('loses no event while webhooks-service is stopped, and checks the destination again on every attempt', async () => {
    const account = newAccountId();
    const client = await world.client(account, 'RW');
    const hook = await createWebhook(client, '/restart');
    const service = world.stack.processes.find((p) => p.name === 'webhooks-service')!;
    expect(await service.stop('SIGTERM', 10_000)).toBe(0);
    // Meanwhile the webhook functions answer 503 with Retry-After (never a 500).
    const down = await client.get('/v1/webhooks');
    expectError(down, 503);
    expect(down.headers.get('retry-after')).toBe('1');

    const events = await publish(...Array.from({ length: 20 }, (_, i) => crmEvent(account, i % 2 ? 'call.ringing' : 'call.started', { call_id: `r${i}`, sequence: 0 })));
    await sleep(300);
    expect(receiver.at('/restart')).toHaveLength(0);

    // Back, but with loopback no longer allowed: the next attempt is refused without a connection
    // (its retry is a minute away, so this instance cannot give up on the subscription meanwhile).
    const strict = spawnApp('webhooks-service', 'apps/webhooks-service/src/main.ts', {
      ...world.stack.env,
      WEBHOOKS_ALLOW_LOOPBACK_HTTP: 'false',
      WEBHOOKS_RETRY_SCHEDULE_MS: '60000',
    });
    world.stack.processes.push(strict);
    const refused = await eventually(async () => {
      const res = await client.get(`/v1/webhooks/${hook.id}/deliveries`, { limit: '1000' });
      return res.status === 200 && res.body.data.find((d: any) => d.error);
    }, 30_000, 'a refused attempt');
    expect(refused).toMatchObject({ status: 'pending', attempt: 1, response_status: null, event_id: events[0].id });
    expect(refused.error).toMatch(/^refused: only https/);
    expect(receiver.at('/restart')).toHaveLength(0);
    expect(await strict.stop('SIGTERM', 10_000)).toBe(0);

    // And with the stack's settings again (the refused delivery retried by hand rather than in a
    // minute): everything arrives, each event at least once, in order.
    world.stack.processes.push(spawnApp('webhooks-service', 'apps/webhooks-service/src/main.ts', world.stack.env));
    await eventually(async () => (await client.post(`/v1/webhooks/${hook.id}/deliveries/${refused.id}/retry`)).status === 200, 30_000, 'the retry');
    await eventually(() => new Set(receiver.at('/restart').map((r) => r.headers['webhook-id'])).size === 20, 30_000, 'all twenty events');
    const firstSeen = [...new Set(receiver.at('/restart').map((r) => r.headers['webhook-id']))];
    expect(firstSeen).toEqual(events.map((e) => e.id));
    const feed = expectSuccess(await client.get('/v1/events', { limit: '1000' }));
    expect(feed.map((e: any) => e.id)).toEqual(events.map((e) => e.id));
  });
});
