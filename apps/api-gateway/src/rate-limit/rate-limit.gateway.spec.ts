import { freePort } from '@ringcloud/testing';
import { FakeUsers } from '../testing/fake-users-service';
import { call, errorEnvelope, GatewayRig, startGateway, startGatewayRig, TestGateway } from '../testing/gateway';

/**
 * Rate limits with the spec's defaults, on two gateway replicas sharing one Redis (and a third that
 * has the same limits but a dead Redis).
 */
describe('rate limits', () => {
  let rig: GatewayRig;
  let fake: FakeUsers;
  let a: TestGateway;
  let b: TestGateway;

  beforeAll(async () => {
    rig = await startGatewayRig({}, {});
    ({ fake, gateways: [a, b] } = rig);
  }, 30_000);

  afterAll(() => rig?.close());

  /** A fresh RW key and user, so each test starts with empty counters. */
  const fresh = () => {
    const key = fake.addKey(1001, 'RW');
    const user = fake.addUser(1001, String(100 + fake.users.size));
    return { key, user };
  };
  const statuses = (answers: Array<{ status: number }>) => answers.map((r) => r.status).sort();

  it('lets exactly one of 20 concurrent identical requests through (1 per 5 s), the rest 429 with Retry-After', async () => {
    const { key, user } = fresh();
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => call(a.url, 'POST', `/v1/users/${user}/voice_mail_box_on?${key.auth}`)),
    );
    expect(statuses(answers)).toEqual([200, ...Array(19).fill(429)]);
    for (const res of answers.filter((r) => r.status === 429)) {
      expect(res.body).toEqual(errorEnvelope('Rate limit exceeded'));
      const retryAfter = Number(res.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(5);
      expect(res.headers.get('ratelimit-policy')).toBe('"users.voice_mail_box_on";q=1;w=5');
      expect(res.headers.get('ratelimit')).toMatch(/^"users\.voice_mail_box_on";r=0;t=[1-5]$/);
    }
    const ok = answers.find((r) => r.status === 200)!;
    expect(ok.headers.get('ratelimit')).toBe('"users.voice_mail_box_on";r=0;t=5');
  });

  it('holds across two gateway replicas sharing Redis', async () => {
    const { key, user } = fresh();
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => call(i % 2 ? a.url : b.url, 'POST', `/v1/users/${user}/voice_mail_box_off?${key.auth}`)),
    );
    expect(statuses(answers)).toEqual([200, ...Array(19).fill(429)]);
  });

  it('counts per exact URL: two different users within a second both pass', async () => {
    const { key, user } = fresh();
    const other = fake.addUser(1001, '777');
    const body = (num: string) => JSON.stringify({ params: { num } });
    const [first, second] = await Promise.all([
      call(a.url, 'POST', `/v1/users/${user}/update_extension_number?${key.auth}`, { body: body('701') }),
      call(a.url, 'POST', `/v1/users/${other}/update_extension_number?${key.auth}`, { body: body('702') }),
    ]);
    expect([first.status, second.status]).toEqual([200, 200]);
    const again = await call(b.url, 'POST', `/v1/users/${user}/update_extension_number?${key.auth}`, { body: body('703') });
    expect(again.status).toBe(429);
  });

  it('counts per API key', async () => {
    const { key, user } = fresh();
    const second = fake.addKey(1001, 'RW');
    expect((await call(a.url, 'GET', `/v1/users/${user}?${key.auth}`)).status).toBe(200);
    expect((await call(a.url, 'GET', `/v1/users/${user}?${second.auth}`)).status).toBe(200);
    expect((await call(a.url, 'GET', `/v1/users/${user}?${key.auth}`)).status).toBe(429);
  });

  it('ignores query parameter order and api_key/hash placement, but not other parameters', async () => {
    const { key } = fresh();
    const [apiKey, hash] = key.auth.split('&');
    expect((await call(a.url, 'GET', `/v1/calls/complete?days=2&num=401&${key.auth}`)).status).toBe(503);
    const reordered = await call(b.url, 'GET', `/v1/calls/complete?${hash}&num=401&${apiKey}&days=2`);
    expect([reordered.status, reordered.body.message]).toEqual([429, 'Rate limit exceeded']);
    const alias = await call(a.url, 'GET', `/v1/calls/complite?num=401&days=2&${key.auth}`);
    expect(alias.status).toBe(429);
    const otherDays = await call(a.url, 'GET', `/v1/calls/complete?days=3&num=401&${key.auth}`);
    expect(otherDays.status).toBe(503);
  });

  it('treats a raw and a %2F-encoded channel name as the same URL', async () => {
    const { key } = fresh();
    expect((await call(a.url, 'GET', `/v1/calls/channels/PJSIP/1679728441-00000012?${key.auth}`)).status).toBe(503);
    expect((await call(b.url, 'GET', `/v1/calls/channels/PJSIP%2F1679728441-00000012?${key.auth}`)).status).toBe(429);
  });

  it('opens again when the window has passed', async () => {
    const { key } = fresh();
    const list = () => call(a.url, 'GET', `/v1/users?${key.auth}`);
    const first = await list();
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit-policy')).toBe('"users.list";q=1;w=1');
    expect((await list()).status).toBe(429);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await list()).status).toBe(200);
  });

  it('is checked after authentication: refused requests do not use the allowance', async () => {
    const { key, user } = fresh();
    const wrong = `api_key=${key.api_key}&hash=${'0'.repeat(32)}`;
    expect((await call(a.url, 'GET', `/v1/users/${user}?${wrong}`)).status).toBe(403);
    const ok = await call(a.url, 'GET', `/v1/users/${user}?${key.auth}`);
    expect(ok.status).toBe(200);
  });

  it('applies RATE_LIMITS overrides, and the bench profile keeps the limiter running', async () => {
    const env = { NATS_URL: rig.nats.url, REDIS_PREFIX: rig.prefix };
    const custom = await startGateway({ ...env, RATE_LIMITS: '{"users.list":{"requests":3,"per_seconds":10}}' });
    const bench = await startGateway({ ...env, RATE_LIMIT_PROFILE: 'bench' });
    try {
      const { key } = fresh();
      const three = await Promise.all(Array.from({ length: 4 }, () => call(custom.url, 'GET', `/v1/users?${key.auth}`)));
      expect(statuses(three)).toEqual([200, 200, 200, 429]);
      const { key: benchKey, user } = fresh();
      const many = await Promise.all(Array.from({ length: 30 }, () => call(bench.url, 'POST', `/v1/users/${user}/voice_mail_box_on?${benchKey.auth}`)));
      expect(statuses(many)).toEqual(Array(30).fill(200));
      expect(many[0].headers.get('ratelimit-policy')).toBe('"users.voice_mail_box_on";q=1000000;w=1');
    } finally {
      await Promise.all([custom.close(), bench.close()]);
    }
  });

  it('answers 503 with Retry-After when Redis is unreachable (never fail-open)', async () => {
    const deadPort = await freePort();
    const broken = await startGateway({ NATS_URL: rig.nats.url, REDIS_PREFIX: rig.prefix, REDIS_URL: `redis://127.0.0.1:${deadPort}` });
    try {
      const { key, user } = fresh();
      const started = Date.now();
      const res = await call(broken.url, 'GET', `/v1/users/${user}?${key.auth}`);
      expect([res.status, res.body, res.headers.get('retry-after')]).toEqual([
        503,
        errorEnvelope('Service is temporarily unavailable'),
        '1',
      ]);
      expect(Date.now() - started).toBeLessThan(2000);
      const ready = await call(broken.url, 'GET', '/readyz');
      expect([ready.status, ready.body.message]).toEqual([503, expect.stringContaining('redis')]);
    } finally {
      await broken.close();
    }
  });
});
