import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Logger } from '@nestjs/common';
import { DomainError } from '@ringcloud/contracts-common';
import { UsersUserCreate } from '@ringcloud/contracts-users';
import { RunningProcess, freePort, spawnProcess, waitFor } from '@ringcloud/testing';
import Redis from 'ioredis';
import { FakeUsers } from '../testing/fake-users-service';
import { call, errorEnvelope, GatewayRig, startGateway, startGatewayRig, successEnvelope, TestGateway } from '../testing/gateway';
import { buildOpenApiDocument } from '../docs/openapi';
import { DEFAULT_LIMITS, V1_ROUTES } from '../v1/routes';
import { BUSY_MESSAGE, KEY_MESSAGE, MISMATCH_MESSAGE } from './idempotency-key';
import { IdempotencyStore } from './idempotency-store';

/**
 * Idempotency-Key on POST /v1/users/create through a real gateway, real NATS and real Redis, with
 * the contract's own rate limit (1 per 60 s per key and URL), so a replay that were counted would be a 429.
 */
describe('Idempotency-Key (gateway + Redis)', () => {
  let rig: GatewayRig;
  let fake: FakeUsers;
  let gw: TestGateway;

  beforeAll(async () => {
    Logger.overrideLogger(['error']);
    rig = await startGatewayRig({});
    ({ fake, gateways: [gw] } = rig);
  }, 30_000);

  afterAll(async () => {
    await rig?.close();
    Logger.overrideLogger(['error', 'warn', 'log']);
  });

  let num = 500;
  const params = () => ({ password: 'Passw0rd42', num: String(++num), mail: `u${num}@example.com` });
  const create = (base: string, auth: string, body: unknown, key?: string) =>
    call(base, 'POST', `/v1/users/create?${auth}`, { body: JSON.stringify({ params: body }), headers: key === undefined ? {} : { 'Idempotency-Key': key } });
  const created = () => fake.count(UsersUserCreate.subject);

  it('replays the first answer for the same key and params: same user, one command, not rate limited', async () => {
    const { auth } = fake.addKey(1001, 'RW');
    const p = params();
    const before = created();
    const first = await create(gw.url, auth, p, 'order-1');
    expect(first.status).toBe(200);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    // The same params in another key order and `num` as a JSON number are the same request.
    const again = await create(gw.url, auth, { mail: p.mail, num: Number(p.num), password: p.password }, 'order-1');
    expect([again.status, again.body]).toEqual([200, first.body]);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('ratelimit')).toBeNull();
    expect(created()).toBe(before + 1);
    // Without the key the limiter counts as before: the second create within 60 s is a 429.
    expect((await create(gw.url, auth, params())).status).toBe(429);
  });

  it("tells users-service the key's digest (account and key), so a retry after a 503 finds the user its first attempt made", async () => {
    const { auth } = fake.addKey(1001, 'RW');
    expect((await create(gw.url, auth, params(), 'order-digest')).status).toBe(200);
    expect(fake.createRequestIds.at(-1)).toBe(createHash('sha256').update('1001\norder-digest').digest('hex'));
    const other = fake.addKey(1002, 'RW');
    expect((await create(gw.url, other.auth, params(), 'order-digest')).status).toBe(200);
    expect(fake.createRequestIds.at(-1)).toBe(createHash('sha256').update('1002\norder-digest').digest('hex'));
    expect((await create(gw.url, fake.addKey(1001, 'RW').auth, params())).status).toBe(200);
    expect(fake.createRequestIds.at(-1)).toBeUndefined();
  });

  it('refuses the same key with other params (400), and runs nothing', async () => {
    const { auth } = fake.addKey(1001, 'RW');
    expect((await create(gw.url, auth, params(), 'k-mismatch')).status).toBe(200);
    const before = created();
    const other = await create(gw.url, auth, params(), 'k-mismatch');
    expect([other.status, other.body]).toEqual([400, errorEnvelope(MISMATCH_MESSAGE)]);
    expect(created()).toBe(before);
  });

  it('keeps keys apart per account', async () => {
    const a = fake.addKey(1001, 'RW');
    const b = fake.addKey(1002, 'RW');
    const before = created();
    const ra = await create(gw.url, a.auth, params(), 'shared-key');
    const rb = await create(gw.url, b.auth, params(), 'shared-key');
    expect([ra.status, rb.status]).toEqual([200, 200]);
    expect(ra.body.data).not.toBe(rb.body.data);
    expect(created()).toBe(before + 2);
  });

  it('runs exactly one of 10 concurrent duplicates; the others wait and replay its answer', async () => {
    const { auth } = fake.addKey(1001, 'RW');
    fake.delays.set(UsersUserCreate.subject, 300);
    try {
      const before = created();
      const p = params();
      const answers = await Promise.all(Array.from({ length: 10 }, () => create(gw.url, auth, p, 'concurrent')));
      expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
      expect(new Set(answers.map((a) => a.body.data)).size).toBe(1);
      expect(answers.filter((a) => a.headers.get('idempotent-replayed') === 'true')).toHaveLength(9);
      expect(created()).toBe(before + 1);
    } finally {
      fake.delays.delete(UsersUserCreate.subject);
    }
  });

  it("keeps no error: after the service's 400 or 503 a retry with the same key runs again", async () => {
    const a = fake.addKey(1001, 'RW');
    const sent = params();
    fake.failNext.set(UsersUserCreate.subject, DomainError.badRequest('Device is not registered'));
    const refused = await create(gw.url, a.auth, sent, 'k-4xx');
    expect([refused.status, refused.body]).toEqual([400, errorEnvelope('Device is not registered')]);
    // The attempt was counted by the limiter (1 per 60 s): another key of the account retries.
    const before = created();
    const retried = await create(gw.url, fake.addKey(1001, 'RW').auth, sent, 'k-4xx');
    expect([retried.status, retried.headers.get('idempotent-replayed')]).toEqual([200, null]);
    expect(created()).toBe(before + 1);
    // Now kept: other params with that key are refused.
    expect((await create(gw.url, fake.addKey(1001, 'RW').auth, params(), 'k-4xx')).status).toBe(400);

    const p = params();
    fake.failNext.set(UsersUserCreate.subject, DomainError.unavailable('users database is unavailable'));
    expect((await create(gw.url, fake.addKey(1001, 'RW').auth, p, 'k-5xx')).status).toBe(503);
    const retry = await create(gw.url, fake.addKey(1001, 'RW').auth, p, 'k-5xx');
    expect([retry.status, retry.headers.get('idempotent-replayed')]).toEqual([200, null]);
  });

  it('does not keep refusals made before the command ran (bad params, 429)', async () => {
    const { auth } = fake.addKey(1001, 'RW');
    const weak = await create(gw.url, auth, { ...params(), password: 'weak' }, 'k-fix');
    expect(weak.status).toBe(400);
    expect(weak.body.message).toMatch(/too weak/);
    // The limiter counted that attempt: the fixed request comes through another key of the account.
    const other = fake.addKey(1001, 'RW');
    expect((await create(gw.url, other.auth, params(), 'k-fix')).status).toBe(200);
    const limited = await create(gw.url, other.auth, params(), 'k-429');
    expect(limited.status).toBe(429);
    const again = await create(gw.url, other.auth, params(), 'k-429');
    expect([again.status, again.headers.get('idempotent-replayed')]).toEqual([429, null]);
  });

  it.each([
    ['empty', ''],
    ['blank', '   '],
    ['256 characters', 'k'.repeat(256)],
    ['non-ASCII', 'ключ'],
    ['a control character', 'a\tb'],
  ])('refuses a malformed key (%s) with 400 before anything runs', async (_, key) => {
    const { auth } = fake.addKey(1001, 'RW');
    const before = created();
    const res = await fetch(`${gw.url}/v1/users/create?${auth}`, {
      method: 'POST',
      body: JSON.stringify({ params: params() }),
      headers: [['Idempotency-Key', Buffer.from(key, 'utf8').toString('latin1')]],
    });
    expect([res.status, await res.json()]).toEqual([400, errorEnvelope(KEY_MESSAGE)]);
    expect(created()).toBe(before);
  });

  it('accepts a 255-character key, and ignores the header on routes that do not take it', async () => {
    const { auth } = fake.addKey(1001, 'RW');
    expect((await create(gw.url, auth, params(), 'k'.repeat(255))).status).toBe(200);
    const res = await call(gw.url, 'GET', `/v1/users?${auth}`, { headers: { 'Idempotency-Key': '' } });
    expect(res.status).toBe(200);
  });

  it('answers 409 when the first is still running after the wait', async () => {
    const store = gw.app.get(IdempotencyStore);
    const timings = store.timings;
    store.timings = { ...timings, waitMs: 200 };
    fake.delays.set(UsersUserCreate.subject, 800);
    try {
      const a = fake.addKey(1001, 'RW');
      const p = params();
      const first = create(gw.url, a.auth, p, 'k-slow');
      await new Promise((r) => setTimeout(r, 100));
      const second = await create(gw.url, a.auth, p, 'k-slow');
      expect([second.status, second.body, second.headers.get('retry-after')]).toEqual([409, errorEnvelope(BUSY_MESSAGE), '1']);
      expect((await first).status).toBe(200);
    } finally {
      store.timings = timings;
      fake.delays.delete(UsersUserCreate.subject);
    }
  });

  it('documents the header, the replay marker and the 409 on idempotent routes only', () => {
    const doc: any = buildOpenApiDocument(V1_ROUTES, [], DEFAULT_LIMITS);
    for (const [p, idempotent] of [['/v1/users/create', true], ['/v1/calls', true], ['/v1/users/{username}/update_email', false]] as const) {
      const op = doc.paths[p].post;
      expect(op.parameters.some((x: any) => x.in === 'header' && x.name === 'Idempotency-Key')).toBe(idempotent);
      expect(!!op.responses[200].headers['Idempotent-Replayed']).toBe(idempotent);
      expect(!!op.responses[409]).toBe(idempotent);
    }
  });

  describe('with Redis going away', () => {
    let redis: RunningProcess;
    let port: number;
    let dir: string;
    let broken: TestGateway;

    const startRedis = async () => {
      redis = spawnProcess('redis', '/usr/bin/redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir]);
      await waitFor('redis', async () => {
        const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 });
        try {
          await probe.connect();
          return (await probe.ping()) === 'PONG';
        } catch {
          return false;
        } finally {
          probe.disconnect();
        }
      });
    };

    beforeAll(async () => {
      port = await freePort();
      dir = mkdtempSync(path.join(os.tmpdir(), 'idem-redis-'));
      await startRedis();
      broken = await startGateway({ NATS_URL: rig.nats.url, REDIS_PREFIX: rig.prefix, REDIS_URL: `redis://127.0.0.1:${port}` });
    });
    afterAll(async () => {
      await broken?.close();
      await redis?.stop('SIGKILL', 2000);
      rmSync(dir, { recursive: true, force: true });
    });

    it('gives the client the real answer when Redis dies while the command runs (no 5xx), then 503 and nothing runs', async () => {
      const { auth } = fake.addKey(1001, 'RW');
      fake.delays.set(UsersUserCreate.subject, 600);
      try {
        const before = created();
        const pending = create(broken.url, auth, params(), 'k-redis');
        await new Promise((r) => setTimeout(r, 250));
        await redis.stop('SIGKILL', 2000);
        const answer = await pending;
        expect([answer.status, answer.body]).toEqual([200, successEnvelope(expect.stringMatching(/^\d+$/))]);
        expect(created()).toBe(before + 1);

        const refused = await create(broken.url, auth, params(), 'k-redis-2');
        expect([refused.status, refused.body.message, refused.headers.get('retry-after')]).toEqual([
          503,
          'Service is temporarily unavailable',
          '1',
        ]);
        expect(created()).toBe(before + 1);
      } finally {
        fake.delays.delete(UsersUserCreate.subject);
      }
    });
  });
});
