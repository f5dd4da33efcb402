import { randomUUID } from 'node:crypto';
import { connect as connectTcp } from 'node:net';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { RunningProcess, V1Client, freePort, spawnProcess, waitFor } from '@ringcloud/testing';
import { expectError, expectSuccess, newAccountId, sleep, useStack } from './support';

/**
 * Issue 9 on the users side, over the real processes (gateway, users-service, calls-service,
 * telephony-adapter, PBX simulator): pagination of GET /v1/users, Idempotency-Key on
 * POST /v1/users/create and POST /v1/calls, POST /v1/users/delete, CRM user events.
 */
const world = useStack({ telephony: true });

const control = (p: string, body?: unknown) =>
  fetch(`${world.stack.simulatorControl}${p}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body ?? {}),
  }).then(async (r) => ({ status: r.status, body: await r.json().catch(() => undefined) }));

/** POST with an Idempotency-Key (or any headers) and a `{"params"}` body. */
const postWith = (client: V1Client, path: string, params: unknown, headers: Record<string, string>) =>
  client.raw('POST', path, { body: JSON.stringify({ params }), headers });

/** A user whose phone is provisioned on the PBX and registered there. */
async function registeredUser(account: number, num: string): Promise<string> {
  const user = expectSuccess(await (await world.client(account, 'RW')).post('/v1/users/create', { password: 'Sip5ecret!', num, mail: `u${num}@example.com` }));
  await waitFor(`PJSIP/${user} provisioned`, async () => (await control(`/devices/${user}/register`)).status === 200, 20_000);
  return user;
}

async function completedCalls(client: V1Client, user: string, num: string): Promise<any[]> {
  const list = expectSuccess(await client.get('/v1/calls/complete', { days: '1', p: randomUUID() }));
  return list.filter((c: any) => c.dst === num && (c.rec_file === null || String(c.rec_file).includes(user)));
}

describe('GET /v1/users pagination', () => {
  const account = newAccountId();
  let rw: V1Client;
  let ro: V1Client;

  beforeAll(async () => {
    // users/create allows 1 per 60 s per key: one key per user.
    for (const num of ['30', '1000', '07', '200', '31']) {
      expectSuccess(await (await world.client(account, 'RW')).post('/v1/users/create', { password: 'Passw0rd42', num, mail: `u${num}@example.com` }));
    }
    expectSuccess(await (await world.client(newAccountId(), 'RW')).post('/v1/users/create', { password: 'Passw0rd42', num: '30', mail: 'o@example.com' }));
    rw = await world.client(account, 'RW');
    ro = await world.client(account, 'RO');
  });

  it('without limit answers the whole v1 list and no X-Next-Cursor', async () => {
    const res = await rw.get('/v1/users');
    expect(expectSuccess(res).map((u: any) => u.num)).toEqual(['07', '30', '31', '200', '1000']);
    expect(res.headers.get('x-next-cursor')).toBeNull();
  });

  it('pages in the same order, the cursor in X-Next-Cursor, none after the last page', async () => {
    const whole = expectSuccess(await ro.get('/v1/users'));
    const pages: any[][] = [];
    let query: Record<string, string> = { limit: '2' };
    for (;;) {
      const res = await ro.get('/v1/users', query);
      pages.push(expectSuccess(res));
      const next = res.headers.get('x-next-cursor');
      if (!next) break;
      query = { limit: '2', cursor: next };
    }
    expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
    expect(pages.flat()).toEqual(whole);
    expect(pages.flat().every((u) => u.password === null && u.account_id === account)).toBe(true);
  });

  it('answers 400 with the v1 envelope for a bad limit or cursor', async () => {
    for (const [query, message] of [
      [{ limit: '0' }, /limit must be a whole number from 1 to 1000/],
      [{ limit: '1001' }, /limit/],
      [{ limit: 'all' }, /limit/],
      [{ limit: '2', cursor: 'bm9wZQ' }, /cursor is not valid/],
      [{ cursor: 'eyJrIjpbN119' }, /cursor needs limit/],
    ] as const) {
      expectError(await rw.get('/v1/users', query), 400, message);
    }
  });
});

describe('Idempotency-Key', () => {
  it('POST /v1/users/create: the same key and params replay the same user, not counted by the limiter; other params → 400', async () => {
    const account = newAccountId();
    const rw = await world.client(account, 'RW');
    const params = { password: 'Passw0rd42', num: '501', mail: 'idem@example.com' };
    const first = await postWith(rw, '/v1/users/create', params, { 'Idempotency-Key': 'crm-order-1' });
    const user = expectSuccess(first);
    const again = await postWith(rw, '/v1/users/create', { ...params, num: 501 }, { 'Idempotency-Key': 'crm-order-1' });
    expect([again.status, again.body, again.headers.get('idempotent-replayed')]).toEqual([200, first.body, 'true']);
    expectError(await postWith(rw, '/v1/users/create', { ...params, num: '502' }, { 'Idempotency-Key': 'crm-order-1' }), 400, /already used with other params/);
    expectError(await postWith(rw, '/v1/users/create', params, { 'Idempotency-Key': 'x'.repeat(256) }), 400, /Idempotency-Key must be 1 to 255/);
    // Without a key the limiter still counts (1 per 60 s): the replays did not use it up.
    expectError(await rw.post('/v1/users/create', { ...params, num: '503' }), 429);
    expect(expectSuccess(await rw.get('/v1/users')).map((u: any) => u.user)).toEqual([user]);
  });

  it('POST /v1/calls: 10 concurrent duplicates place exactly one call on the PBX and all get its answer', async () => {
    const account = newAccountId();
    const user = await registeredUser(account, '601');
    const rw = await world.client(account, 'RW');
    const dst = '79105550601';
    const key = randomUUID();
    const answers = await Promise.all(Array.from({ length: 10 }, () => postWith(rw, '/v1/calls', { user, num: dst }, { 'Idempotency-Key': key })));
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
    expect(new Set(answers.map((a) => a.text)).size).toBe(1);
    expect(answers[0].body).toEqual({ status: 'success', message: null, data: 'Originate successfully queued' });
    expect(answers.filter((a) => a.headers.get('idempotent-replayed') === 'true')).toHaveLength(9);
    // Whatever call id the first answer carried, every replay carries the same.
    expect(new Set(answers.map((a) => a.headers.get('x-call-id'))).size).toBe(1);

    const reader = await world.client(account, 'RO');
    await waitFor('the call completed', async () => (await completedCalls(reader, user, dst)).length > 0, 40_000);
    await sleep(3000); // a second call, if there were one, would have completed too by now
    expect(await completedCalls(reader, user, dst)).toHaveLength(1);
    // A late retry with the same key is still the same answer, and places nothing.
    const late = await postWith(rw, '/v1/calls', { user, num: dst }, { 'Idempotency-Key': key });
    expect([late.status, late.text, late.headers.get('idempotent-replayed')]).toEqual([200, answers[0].text, 'true']);
  });
});

describe('Idempotency-Key while Redis is down (a gateway on a Redis of its own)', () => {
  let redis: RunningProcess;
  let port: number;
  const startRedis = async () => {
    redis = spawnProcess('redis', '/usr/bin/redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
    await waitFor('redis', () => new Promise<boolean>((resolve) => {
      const socket = connectTcp(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    }));
  };
  afterAll(async () => redis?.stop('SIGKILL', 2000));

  it('answers 503 with Retry-After and creates nothing; once Redis is back the same key runs once', async () => {
    port = await freePort();
    await startRedis();
    const gateway = await world.stack.addGateway({ REDIS_URL: `redis://127.0.0.1:${port}` });
    const account = newAccountId();
    const rw = world.clientFor(await world.admin.createKey(account, 'RW'));
    const via = new V1Client(gateway.url, rw.credentials);
    const params = { password: 'Passw0rd42', num: '901', mail: 'r@example.com' };
    await redis.stop('SIGKILL', 2000);
    const down = await postWith(via, '/v1/users/create', params, { 'Idempotency-Key': 'while-down' });
    expectError(down, 503, 'Service is temporarily unavailable');
    expect(down.headers.get('retry-after')).toBe('1');
    expect(expectSuccess(await rw.get('/v1/users'))).toEqual([]);

    await startRedis();
    const ok = await waitFor('gateway reconnected to Redis', async () => {
      const res = await postWith(via, '/v1/users/create', params, { 'Idempotency-Key': 'while-down' });
      return res.status === 503 ? undefined : res;
    }, 20_000);
    const user = expectSuccess(ok);
    const replay = await postWith(via, '/v1/users/create', params, { 'Idempotency-Key': 'while-down' });
    expect([replay.body?.data, replay.headers.get('idempotent-replayed')]).toEqual([user, 'true']);
    await sleep(1100);
    expect(expectSuccess(await rw.get('/v1/users')).map((u: any) => u.user)).toEqual([user]);
    await gateway.process.stop();
  });
});

describe('POST /v1/users/delete', () => {
  const account = newAccountId();
  let rw: V1Client;
  let user: string;
  let recFile: string;

  beforeAll(async () => {
    user = await registeredUser(account, '701');
    rw = await world.client(account, 'RW');
    // A number that rings the user, and a recorded call, both of which must outlive... the number no, the call yes.
    expect((await world.admin.call('POST', '/admin/v1/numbers', { number: '74957000701', account_id: account, user })).status).toBe(200);
    expectSuccess(await rw.post('/v1/calls', { user, num: '79105550701' }));
    const reader = await world.client(account, 'RO');
    const call = await waitFor('recorded call', async () => (await completedCalls(reader, user, '79105550701')).find((c) => c.rec_file), 40_000);
    recFile = call.rec_file;
  }, 90_000);

  it('refuses bad params (400), RO keys (403), unknown and other tenants\' users (404), and deletes nothing', async () => {
    const ro = await world.client(account, 'RO');
    expectError(await ro.post('/v1/users/delete', { user }), 403, 'API key is read-only');
    const other = await world.client(newAccountId(), 'RW');
    expectError(await other.post('/v1/users/delete', { user }), 404, 'User not found');
    const cases: Array<[unknown, number, RegExp]> = [
      [{}, 400, /user is required/],
      [{ user: true }, 400, /user must be a numeric user name/],
      [{ user: 'abc' }, 400, /user must be a numeric user name/],
      [{ user: [user] }, 400, /user must be a numeric user name/],
      [{ user: '1000000001' }, 404, /^User not found$/],
    ];
    for (const [params, status, message] of cases) {
      expectError(await (await world.client(account, 'RW')).post('/v1/users/delete', params), status, message);
    }
    expectError(await (await world.client(account, 'RW')).raw('POST', '/v1/users/delete', { body: '{"params":' }), 400, 'Malformed JSON body');
    expect(expectSuccess(await (await world.client(account, 'RO')).get(`/v1/users/${user}`)).user).toBe(user);
  });

  it('deletes the user: gone from v1, deprovisioned from the PBX, its number released; calls and recordings stay', async () => {
    expect(expectSuccess(await rw.post('/v1/users/delete', { user: Number(user) }))).toBeNull();
    const reader = await world.client(account, 'RO');
    expectError(await reader.get(`/v1/users/${user}`), 404, 'User not found');
    expect(expectSuccess(await reader.get('/v1/users'))).toEqual([]);

    // The adapter removed its endpoint: the phone can no longer register, nor be called.
    await waitFor('endpoint removed', async () => (await control(`/devices/${user}/register`)).status === 404, 20_000);
    const numbers = await world.admin.call('GET', `/admin/v1/accounts/${account}/numbers`);
    expect(numbers.body.data).toEqual([]);
    expectError(await (await world.client(account, 'RW')).post('/v1/calls', { user, num: '79105550702' }), 400, /Unknown user/);

    // Its call record and recording stay listed and downloadable.
    expect((await completedCalls(reader, user, '79105550701')).map((c) => c.rec_file)).toEqual([recFile]);
    const records = expectSuccess(await reader.get(`/v1/users/${user}/records`));
    expect(records.map((r: string[]) => `/v1/users/${user}/records/${r[0]}`)).toEqual([recFile]);
    expect((await fetch(reader.url(recFile))).status).toBe(200);

    // Deleting again is 404; the extension is free for a new user, who never gets the old name.
    await sleep(5000);
    expectError(await rw.post('/v1/users/delete', { user }), 404, 'User not found');
    const again = expectSuccess(await (await world.client(account, 'RW')).post('/v1/users/create', { password: 'Passw0rd42', num: '701', mail: 'new@example.com' }));
    expect(again).not.toBe(user);
  });
});

describe('CRM user events on CRM_EVENTS', () => {
  let nc: NatsConnection;
  beforeAll(async () => {
    nc = await connect({ servers: world.stack.nats.url });
  });
  afterAll(async () => nc?.close());

  async function eventsOf(account: number, count: number): Promise<any[]> {
    const consumer = await jetstream(nc).consumers.get('CRM_EVENTS', { deliver_policy: DeliverPolicy.All, filter_subjects: `crm.events.${account}` });
    const out: any[] = [];
    await waitFor(`${count} events of ${account}`, async () => {
      const m = await consumer.next({ expires: 1000 });
      if (m) out.push({ subject: m.subject, msgId: m.headers?.get('Nats-Msg-Id'), body: m.json() });
      return out.length >= count;
    }, 20_000);
    return out;
  }

  it('user.created, user.updated and user.deleted reach the account subject in order, without the SIP password', async () => {
    const account = newAccountId();
    const rw = await world.client(account, 'RW');
    const user = expectSuccess(await rw.post('/v1/users/create', { password: 'Sup3rSecret!', num: '801', mail: 'crm@example.com' }));
    expectSuccess(await rw.post(`/v1/users/${user}/update_password`, { password: 'An0therSecret' }));
    expectSuccess(await rw.post(`/v1/users/${user}/update_email`, { mail: 'crm2@example.com' }));
    expectSuccess(await rw.post('/v1/users/delete', { user }));
    const events = await eventsOf(account, 4);
    expect(events.map((e) => e.body.type)).toEqual(['user.created', 'user.updated', 'user.updated', 'user.deleted']);
    for (const e of events) {
      expect(e.subject).toBe(`crm.events.${account}`);
      expect(e.body).toEqual({ id: expect.stringMatching(/^evt_[a-z2-7]{26}$/), type: e.body.type, timestamp: expect.any(String), account_id: account, data: expect.any(Object) });
      expect(JSON.stringify(e.body)).not.toMatch(/Secret|password|md5/);
    }
    expect(new Set(events.map((e) => e.body.id)).size).toBe(4);
    expect(events[0].body.data).toEqual({ account_id: account, user, num: '801', mail: 'crm@example.com', voice_mail_box: 'off' });
    expect(events[2].body.data).toMatchObject({ mail: 'crm2@example.com' });
    expect(events[3].body.data).toEqual({ account_id: account, user });
  });
});
