import { connect } from 'node:net';
import { UsersApiKeyVerify } from '@ringcloud/contracts-users';
import { connectNats, NatsConnection } from '@ringcloud/nest-nats';
import { freePort, startNatsServer, TestNats } from '@ringcloud/testing';
import { FakeUsers } from '../testing/fake-users-service';
import { call, dropRedisPrefix, errorEnvelope, GatewayRig, startGateway, startGatewayRig, TestGateway, testRedisPrefix } from '../testing/gateway';

const unavailable = errorEnvelope('Service is temporarily unavailable');
const key = { auth: 'api_key=1001_abcdefgh12345678&hash=0cc175b9c0f1b6a831c399e269772661' };

describe('dependencies down', () => {
  const prefix = testRedisPrefix();
  afterAll(() => dropRedisPrefix(prefix));

  describe('NATS up, users-service missing or silent', () => {
    let nats: TestNats;
    let gw: TestGateway;

    beforeAll(async () => {
      nats = await startNatsServer();
      gw = await startGateway({ NATS_URL: nats.url, REDIS_PREFIX: prefix, NATS_REQUEST_TIMEOUT_MS: '1000' });
    }, 30_000);
    afterAll(async () => {
      await gw?.close();
      await nats?.stop();
    });

    it('answers 503 at once when nobody serves the subject', async () => {
      const started = Date.now();
      const res = await call(gw.url, 'GET', `/v1/users?${key.auth}`);
      expect([res.status, res.body, res.headers.get('retry-after')]).toEqual([503, unavailable, '1']);
      expect(Date.now() - started).toBeLessThan(1000);
    });

    it('answers 503 after NATS_REQUEST_TIMEOUT_MS when the service never replies', async () => {
      const nc: NatsConnection = await connectNats(nats.url, 'silent-users');
      nc.subscribe(UsersApiKeyVerify.subject, { callback: () => undefined });
      await nc.flush();
      try {
        const started = Date.now();
        const res = await call(gw.url, 'GET', `/v1/users?${key.auth}`);
        const elapsed = Date.now() - started;
        expect([res.status, res.body]).toEqual([503, unavailable]);
        expect(elapsed).toBeGreaterThanOrEqual(900);
        expect(elapsed).toBeLessThan(2500);
      } finally {
        await nc.close();
      }
    });

    it('is alive but not ready', async () => {
      expect((await call(gw.url, 'GET', '/healthz')).status).toBe(200);
      const ready = await call(gw.url, 'GET', '/readyz');
      expect([ready.status, ready.body.message]).toEqual([503, expect.stringMatching(/^Not ready: users-service/)]);
    });
  });

  describe('NATS down', () => {
    let gw: TestGateway;
    beforeAll(async () => {
      gw = await startGateway({ NATS_URL: `nats://127.0.0.1:${await freePort()}`, REDIS_PREFIX: prefix });
    }, 30_000);
    afterAll(() => gw?.close());

    it('starts anyway and answers 503, never 500', async () => {
      const res = await call(gw.url, 'GET', `/v1/users?${key.auth}`);
      expect([res.status, res.body]).toEqual([503, unavailable]);
      // Checks that need no backend still answer.
      expect((await call(gw.url, 'GET', '/v1/users')).status).toBe(403);
      expect((await call(gw.url, 'PUT', '/v1/users')).status).toBe(405);
      expect((await call(gw.url, 'GET', '/healthz')).status).toBe(200);
      const ready = await call(gw.url, 'GET', '/readyz');
      expect([ready.status, ready.body.message]).toEqual([503, expect.stringMatching(/nats .*users-service/)]);
    });
  });

  describe('everything up', () => {
    let rig: GatewayRig;
    let fake: FakeUsers;
    let gw: TestGateway;
    beforeAll(async () => {
      rig = await startGatewayRig({ TRUST_PROXY: 'true' });
      ({ fake, gateways: [gw] } = rig);
    }, 30_000);
    afterAll(() => rig?.close());

    it('is ready', async () => {
      const ready = await call(gw.url, 'GET', '/readyz');
      expect([ready.status, ready.body]).toEqual([
        200,
        { status: 'success', message: null, data: { nats: 'ok', redis: 'ok', 'users-service': 'ok' } },
      ]);
      expect(fake.count('users.health.ping')).toBe(1);
    });

    it('logs the client address from X-Forwarded-For behind a trusted proxy', async () => {
      const lines: string[] = [];
      gw.app.useLogger({ log: (m: unknown) => lines.push(String(m)), error: () => undefined, warn: () => undefined });
      await call(gw.url, 'GET', '/healthz', { headers: { 'X-Forwarded-For': '203.0.113.7', 'X-Request-Id': 'xff-2' } });
      expect(lines.find((l) => l.includes('id=xff-2'))).toMatch(/^GET \/healthz 200 .* client=203\.0\.113\.7$/);
    });
  });

  describe('slow clients', () => {
    let gw: TestGateway;
    beforeAll(async () => {
      gw = await startGateway({ NATS_URL: `nats://127.0.0.1:${await freePort()}`, REDIS_PREFIX: prefix, REQUEST_TIMEOUT_MS: '1000' });
    });
    afterAll(() => gw?.close());

    /** Writes `bytes`, then nothing more: resolves with what the gateway answered and when it closed. */
    function stall(bytes: string): Promise<{ answer: string; afterMs: number }> {
      const { hostname, port } = new URL(gw.url);
      const started = Date.now();
      return new Promise((resolve, reject) => {
        const socket = connect(Number(port), hostname, () => socket.write(bytes));
        let answer = '';
        socket.setEncoding('latin1');
        socket.on('data', (chunk) => (answer += chunk));
        socket.on('close', () => resolve({ answer, afterMs: Date.now() - started }));
        socket.on('error', reject);
        setTimeout(() => socket.destroy(), 10_000).unref();
      });
    }

    it('answers 408 with the envelope and closes when a request is not sent whole within REQUEST_TIMEOUT_MS', async () => {
      for (const bytes of [
        `POST /v1/users/create?${key.auth} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"par`, // body stalls
        'GET /v1/users HTTP/1.1\r\nHost: x\r\nX-Slow: ', // headers stall
      ]) {
        const { answer, afterMs } = await stall(bytes);
        expect([answer.split('\r\n')[0], answer.split('\r\n\r\n')[1]]).toEqual(['HTTP/1.1 408 Request Timeout', JSON.stringify(errorEnvelope('Request timed out'))]);
        expect(afterMs).toBeGreaterThanOrEqual(900);
        expect(afterMs).toBeLessThan(5000);
      }
    });
  });
});
