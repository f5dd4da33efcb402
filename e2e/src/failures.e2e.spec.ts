import { V1Client, startNatsServer, waitFor } from '@ringcloud/testing';
import { expectError, expectSuccess, newAccountId, useStack } from './support';

// A private NATS and a short request timeout so an outage is seen quickly.
const world = useStack({ env: { NATS_REQUEST_TIMEOUT_MS: '1500' } });

describe('a dependency going down', () => {
  it('answers 503 with Retry-After while users-service is down, and recovers when it is back', async () => {
    const client = await world.client(newAccountId(), 'RW');
    expectSuccess(await client.get('/v1/users'));
    const service = world.stack.processes.find((p) => p.name === 'users-service')!;
    await service.stop();
    const started = Date.now();
    const down = await client.get('/v1/users', { q: '1' });
    expectError(down, 503);
    expect(Number(down.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Date.now() - started).toBeLessThan(5000); // bounded, never hangs
    const ready = await fetch(`${world.stack.gateways[0]}/readyz`);
    expect(ready.status).toBe(503);

    await world.stack.addUsersService();
    await waitFor('users-service back', async () => (await client.get('/v1/users', { q: String(Date.now()) })).status === 200);
  });

  it('answers 503 while NATS is down, and recovers when NATS returns on the same address', async () => {
    const client = await world.client(newAccountId(), 'RW');
    expectSuccess(await client.get('/v1/users'));
    const natsUrl = new URL(world.stack.nats.url);
    await world.stack.nats.process!.stop('SIGKILL');

    const res = await client.get('/v1/users', { q: 'nats-down' });
    expectError(res, 503);

    // NATS comes back on the same port; every process reconnects by itself.
    const revived = await startNatsServer(Number(natsUrl.port));
    try {
      await waitFor('gateway recovers', async () => (await client.get('/v1/users', { q: String(Date.now()) })).status === 200, 30_000);
    } finally {
      world.stack.nats.stop = async () => revived.stop();
    }
  });

  it('answers 503 when Redis is unreachable (the limiter fails closed, not open)', async () => {
    const client = await world.client(newAccountId(), 'RW');
    const { url } = await world.stack.addGateway({ REDIS_URL: 'redis://127.0.0.1:1' }, '/healthz');
    expectError(await new V1Client(url, client.credentials).get('/v1/users'), 503);
    expect((await fetch(`${url}/readyz`)).status).toBe(503);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });
});
