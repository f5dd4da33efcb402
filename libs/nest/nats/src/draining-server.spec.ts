import { AddressInfo, Server, Socket, createServer, connect as tcpConnect } from 'node:net';
import { Controller, INestMicroservice, Logger, Module } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/nats-core';
import { z } from 'zod';
import { command } from '@ringcloud/contracts-common';
import { connectNats, drainOrClose, isAway, settledWithin } from './jetstream';
import { createNatsMicroservice } from './microservice';
import { Command } from './rpc-server';
import { RpcClient } from './rpc-client';
import { DEADLINE_HEADER } from './deadline';

// The machine's NATS (as every unit test of this lib): subjects of this run's own.
const NATS_URL = process.env.NATS_TEST_URL ?? process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const SUBJECT = `deadline_spec_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}.echo`;
const Echo = command(SUBJECT, z.object({ n: z.number() }), z.object({ n: z.number() }));
const handled: number[] = [];

@Controller()
class EchoController {
  @Command(Echo)
  echo(@Payload() req: { n: number }): { n: number } {
    handled.push(req.n);
    return req;
  }
}

@Module({ controllers: [EchoController] })
class EchoModule {}

/**
 * A TCP relay between NATS and the service whose NATS → service direction can be held: what
 * `kill -STOP` does to a pod — the requests wait in the socket while their requesters time out.
 */
class PausableRelay {
  private readonly upstreams = new Set<Socket>();
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(natsUrl: string, port = 0): Promise<PausableRelay> {
    const target = new URL(natsUrl);
    const server = createServer((service) => {
      const upstream = tcpConnect(Number(target.port), target.hostname);
      relay.upstreams.add(upstream);
      upstream.on('data', (chunk) => service.write(chunk));
      service.on('data', (chunk) => upstream.write(chunk));
      const end = () => (upstream.destroy(), service.destroy());
      upstream.on('error', end).on('close', end);
      service.on('error', end).on('close', end);
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    const relay = new PausableRelay(server, `nats://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return relay;
  }

  hold(): void {
    this.upstreams.forEach((s) => s.pause());
  }

  release(): void {
    this.upstreams.forEach((s) => s.resume());
  }

  async close(): Promise<void> {
    this.upstreams.forEach((s) => s.destroy());
    await new Promise((resolve) => this.server.close(resolve));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  for (const end = Date.now() + timeoutMs; !check(); await sleep(20)) if (Date.now() > end) throw new Error('condition not met in time');
}

describe('DrainingNatsServer: request deadlines', () => {
  let relay: PausableRelay;
  let app: INestMicroservice;
  let rpc: RpcClient;
  let raw: NatsConnection;

  beforeAll(async () => {
    relay = await PausableRelay.start(NATS_URL);
    app = await createNatsMicroservice(EchoModule, { servers: relay.url, queue: 'deadline-spec', logger: false });
    await app.listen();
    rpc = new RpcClient({ servers: NATS_URL, requestTimeoutMs: 300, name: 'deadline-spec-client' });
    await rpc.connect();
    raw = await connectNats(NATS_URL, 'deadline-spec-raw');
  }, 30_000);

  afterAll(async () => {
    await raw?.close();
    await rpc?.onApplicationShutdown();
    await app?.close();
    await relay?.close();
    Logger.flush();
  });

  beforeEach(() => {
    handled.length = 0;
    jest.restoreAllMocks();
  });

  it('never handles a request that reached the paused service after its requester gave up, and handles the ones in time', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn');
    expect(await rpc.send(Echo, { n: 1 })).toEqual({ n: 1 });

    relay.hold();
    await expect(rpc.send(Echo, { n: 2 })).rejects.toThrow(`service did not answer in time (${SUBJECT})`);
    relay.release();
    expect(await rpc.send(Echo, { n: 3 })).toEqual({ n: 3 });
    await sleep(200);

    expect(handled).toEqual([1, 3]);
    const drops = warn.mock.calls.map(([message]) => String(message)).filter((m) => m.includes('dropped'));
    expect(drops).toEqual([expect.stringMatching(new RegExp(`^${SUBJECT.replace('.', '\\.')} dropped: received \\d+ ms after its requester gave up$`))]);
  });

  // Nest's own request packet, as a client other than RpcClient (tests, the bench, an older release) sends it.
  const rawRequest = (n: number, deadline?: number) => {
    const h = natsHeaders();
    if (deadline !== undefined) h.set(DEADLINE_HEADER, String(deadline));
    const packet = JSON.stringify({ pattern: Echo.subject, data: { n }, id: `raw-${n}` });
    return raw.request(Echo.subject, packet, { timeout: 500, headers: deadline === undefined ? undefined : h });
  };

  it('handles a request without the deadline header as before', async () => {
    const reply = await rawRequest(4);
    expect(reply.json()).toMatchObject({ response: { n: 4 } });
    expect(handled).toEqual([4]);
  });

  it('answers nothing to a request whose deadline has passed, and handles one whose deadline is ahead', async () => {
    await expect(rawRequest(5, Date.now() - 1)).rejects.toThrow();
    expect((await rawRequest(6, Date.now() + 5_000)).json()).toMatchObject({ response: { n: 6 } });
    expect(handled).toEqual([6]);
  });
});

describe('stopping while NATS is away', () => {
  it('drainOrClose closes a connection whose server went away instead of waiting for it', async () => {
    const relay = await PausableRelay.start(NATS_URL);
    const nc = await connectNats(relay.url, 'away-spec');
    nc.subscribe(`${SUBJECT}.away`, { callback: () => undefined });
    await nc.flush();
    await relay.close(); // the server is gone; the client tries to reconnect for ever
    const started = Date.now();
    expect(await drainOrClose(nc, 1000)).toBe(false);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(nc.isClosed()).toBe(true);

    const up = await connectNats(NATS_URL, 'up-spec');
    expect(await drainOrClose(up, 1000)).toBe(true);
  });

  it('isAway: true while the server is gone, false again once the connection is back', async () => {
    const relay = await PausableRelay.start(NATS_URL);
    const nc = await connectNats(relay.url, 'away-status-spec');
    try {
      expect(isAway(nc)).toBe(false);
      const port = Number(new URL(relay.url).port);
      await relay.close();
      await until(() => isAway(nc));
      const back = await PausableRelay.start(NATS_URL, port);
      try {
        await until(() => !isAway(nc));
        await nc.flush();
      } finally {
        await nc.close();
        await back.close();
      }
    } finally {
      if (!nc.isClosed()) await nc.close();
    }
  });

  it('a microservice closes its connection although NATS went away (left reconnecting, the process never exited)', async () => {
    const relay = await PausableRelay.start(NATS_URL);
    const app = await createNatsMicroservice(EchoModule, { servers: relay.url, queue: 'away-spec', logger: false });
    await app.listen();
    const nc = (app as unknown as { serverInstance: { natsClient: NatsConnection } }).serverInstance.natsClient;
    await relay.close();
    // (settledWithin clears its timer: a bare 20 s sleep in the race held jest open after the run.)
    expect(await settledWithin(app.close(), 20_000)).toBe(true);
    // Closed, not left reconnecting for ever: that kept the process from exiting.
    expect(nc.isClosed()).toBe(true);
  }, 30_000);
});
