import { V1Client } from '@ringcloud/testing';
import { expectError, expectSuccess, newAccountId, sleep, useStack } from './support';

// Two gateway replicas sharing Redis: the limit must hold exactly across them.
const world = useStack({ gateways: 2 });

const statuses = (results: Array<{ status: number }>) =>
  results.reduce<Record<number, number>>((acc, r) => ({ ...acc, [r.status]: (acc[r.status] ?? 0) + 1 }), {});

describe('rate limits per key and exact URL (spec section 5)', () => {
  let rw: V1Client;
  let users: string[];

  beforeAll(async () => {
    const account = newAccountId();
    users = [];
    for (const num of ['501', '502']) {
      const creator = await world.client(account, 'RW'); // create is 1 per 60 s per key
      users.push(expectSuccess(await creator.post('/v1/users/create', { password: 'Sip5ecret!', num, mail: `u${num}@example.com` })));
    }
    rw = await world.client(account, 'RW');
  });

  it('lets exactly one of 20 concurrent identical requests through; the rest get 429 with Retry-After', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, () => rw.post(`/v1/users/${users[0]}/update_extension_number`, { num: '511' })),
    );
    expect(statuses(results)).toEqual({ 200: 1, 429: 19 });
    for (const res of results.filter((r) => r.status === 429)) {
      expectError(res, 429);
      const retryAfter = Number(res.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(5);
    }
    const passed = results.find((r) => r.status === 200)!;
    expect(passed.headers.get('ratelimit-policy')).toMatch(/q=1;w=5/);
    expect(passed.headers.get('ratelimit')).toMatch(/r=0;t=\d+/);
  });

  it('holds exactly across two gateway replicas', async () => {
    const other = world.clientFor(rw.credentials, 1);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? rw : other).post(`/v1/users/${users[1]}/update_email`, { mail: 'same@example.com' })),
    );
    expect(statuses(results)).toEqual({ 200: 1, 429: 19 });
  });

  it('counts different users as different URLs', async () => {
    const [a, b] = await Promise.all(users.map((u) => rw.post(`/v1/users/${u}/voice_mail_box_on`)));
    expect([a.status, b.status]).toEqual([200, 200]);
  });

  it('ignores api_key/hash and the order of other query parameters, but not their values', async () => {
    const first = await rw.get('/v1/users', { a: '1', b: '2' });
    expect(first.status).toBe(200);
    const url = new URL(rw.url('/v1/users'));
    // same parameters in another order, credentials first
    const reordered = await fetch(`${url.origin}/v1/users?hash=${rw.hash}&b=2&api_key=${rw.credentials.api_key}&a=1`);
    expect(reordered.status).toBe(429);
    const different = await rw.get('/v1/users', { a: '1', b: '3' });
    expect(different.status).toBe(200);
  });

  it('keeps separate counters per key', async () => {
    const other = await world.client(newAccountId(), 'RO');
    const [a, b] = await Promise.all([rw.get('/v1/users', { k: 'x' }), other.get('/v1/users', { k: 'x' })]);
    expect([a.status, b.status]).toEqual([200, 200]);
  });

  it('lets the request through again once the window has passed', async () => {
    const first = await rw.get('/v1/users', { w: '1' });
    expect(first.status).toBe(200);
    expect((await rw.get('/v1/users', { w: '1' })).status).toBe(429);
    await sleep(1100);
    expect((await rw.get('/v1/users', { w: '1' })).status).toBe(200);
  });
});
