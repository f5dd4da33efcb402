import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstream } from '@nats-io/jetstream';
import { freePort, startNatsServer } from '@ringcloud/testing';
import { SipPasswordCipher } from '../secrets/sip-password-cipher';
import { TEST_SIP_KEY, TestEnv, eventually, readStreamEvents } from '../testing/fixture';
import { NumbersRepository } from '../numbers/numbers.repository';
import { NumbersService } from '../numbers/numbers.service';
import { UsersRepository } from '../users/users.repository';
import { UsersService } from '../users/users.service';
import { OutboxRelay, OutboxStore } from '@ringcloud/nest-outbox';
import { USERS_EVENTS_STREAM } from '@ringcloud/contracts-users';
import { CRM_EVENTS_STREAM, crmEventId } from '@ringcloud/contracts-events';
import { DeliverPolicy } from '@nats-io/jetstream';

describe('users-service on the outbox relay (PostgreSQL + JetStream)', () => {
  let env: TestEnv;
  let outbox: OutboxStore;
  const connections: NatsConnection[] = [];
  const relays: OutboxRelay[] = [];

  beforeAll(async () => {
    env = await TestEnv.start();
    outbox = new OutboxStore(env.prisma);
    await env.prisma.account.createMany({ data: [{ id: 4001, name: 'A' }] });
  });
  afterEach(async () => {
    await Promise.all(relays.splice(0).map((r) => r.stop()));
    await Promise.all(connections.splice(0).map((c) => c.close().catch(() => undefined)));
  });
  afterAll(() => env.stop());

  async function relayOn(natsUrl: string, publishTimeoutMs = 1000): Promise<OutboxRelay> {
    const nc = await connect({ servers: natsUrl, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    connections.push(nc);
    const relay = new OutboxRelay({ store: outbox, js: jetstream(nc, { timeout: publishTimeoutMs }), nc, streams: [USERS_EVENTS_STREAM, CRM_EVENTS_STREAM], sweepMs: 200 });
    relays.push(relay);
    return relay;
  }

  const usersWith = (relay: OutboxRelay | undefined) => {
    const signal = relay ?? { eventsWritten: () => undefined };
    const numbers = new NumbersService(new NumbersRepository(env.prisma), outbox, signal);
    return new UsersService(new UsersRepository(env.prisma), outbox, new SipPasswordCipher(TEST_SIP_KEY), 'ringcloud', signal, numbers);
  };

  it('publishes a created user to JetStream right after the commit, with msgID = event id', async () => {
    const relay = await relayOn(env.nats.url);
    await relay.onApplicationBootstrap();
    const user = await usersWith(relay).create({ account_id: 4001, password: 'Str0ngPass', num: '401', mail: 'ivan@example.com' });

    const message = await eventually(async () => (await env.streamEvents()).find((m) => m.event.user === user));
    const row = await env.prisma.outboxEvent.findUniqueOrThrow({ where: { id: message.event.event_id } });
    expect(message.subject).toBe('users.user.created');
    expect(message.msgId).toBe(row.id);
    expect(message.event).toEqual(row.payload);
    expect(message.event).toMatchObject({
      version: 1,
      account_id: 4001,
      user,
      num: '401',
      mail: 'ivan@example.com',
      voice_mail_box: 'off',
      sip: { username: user, realm: 'ringcloud', md5_cred: createHash('md5').update(`${user}:ringcloud:Str0ngPass`).digest('hex') },
      changed: ['password', 'num', 'mail', 'voice_mail_box'],
    });
    await eventually(async () => (await env.prisma.outboxEvent.findUniqueOrThrow({ where: { id: row.id } })).publishedAt);
  });

  it('publishes CRM user events to CRM_EVENTS on the account subject, msgID = the row id, no SIP secret', async () => {
    const relay = await relayOn(env.nats.url);
    await relay.onApplicationBootstrap();
    const users = usersWith(relay);
    const user = await users.create({ account_id: 4001, password: 'Str0ngPass', num: '402', mail: 'crm@example.com' });
    await users.delete(4001, user);
    const consumer = await jetstream(env.nc).consumers.get(CRM_EVENTS_STREAM.name, { deliver_policy: DeliverPolicy.All });
    const mine: Array<{ subject: string; msgId?: string; event: any }> = [];
    await eventually(async () => {
      const m = await consumer.next({ expires: 1000 });
      if (m && m.json<any>().data.user === user) mine.push({ subject: m.subject, msgId: m.headers?.get('Nats-Msg-Id'), event: m.json() });
      return mine.length === 2;
    }, 10_000);
    expect(mine.map((m) => [m.subject, m.event.type])).toEqual([
      ['crm.events.4001', 'user.created'],
      ['crm.events.4001', 'user.deleted'],
    ]);
    for (const m of mine) {
      expect(m.event.id).toBe(crmEventId(m.msgId!));
      // The id is random base32 (checked above): it may spell "md5" by chance (seen in CI), so it is left out.
      const { id: _id, ...rest } = m.event;
      expect(JSON.stringify(rest)).not.toMatch(/Str0ngPass|md5|password/);
    }
  });

  it('publishes events written while NATS was down once it is back, in order and exactly once', async () => {
    // A NATS of its own, so it can be stopped and restarted with its JetStream store.
    const port = await freePort();
    const store = mkdtempSync(path.join(os.tmpdir(), 'users-relay-nats-'));
    let nats = await startNatsServer(port, store);
    try {
      const relay = await relayOn(nats.url, 500);
      await relay.onApplicationBootstrap();
      const users = usersWith(relay);
      await nats.stop();

      const user = await users.create({ account_id: 4001, password: 'Str0ngPass', num: '501', mail: 'down@example.com' });
      await users.update(4001, user, { mail: 'still-down@example.com' });
      await users.update(4001, user, { voicemail: true });
      await new Promise((r) => setTimeout(r, 700)); // several sweeps fail meanwhile
      const pending = await env.prisma.outboxEvent.findMany({ where: { publishedAt: null, subject: { startsWith: 'users.' } }, orderBy: { createdAt: 'asc' } });
      expect(pending).toHaveLength(3);

      nats = await startNatsServer(port, store);
      const nc = await connect({ servers: nats.url });
      connections.push(nc);
      await eventually(async () => (await outbox.countUnpublished()) === 0, 15_000);

      const read = async () => (await readStreamEvents(nc)).filter((m) => m.event.user === user);
      const published = await read();
      expect(published.map((m) => m.event.event_id)).toEqual(pending.map((p) => p.id));
      expect(published.map((m) => m.event.version)).toEqual([1, 2, 3]);

      // A relay that crashed between publishing and marking publishes again: the stream drops it.
      await env.prisma.outboxEvent.updateMany({ where: { id: { in: pending.map((p) => p.id) } }, data: { publishedAt: null } });
      await relay.flush();
      expect(await outbox.countUnpublished()).toBe(0);
      expect((await read()).map((m) => m.event.event_id)).toEqual(pending.map((p) => p.id));
    } finally {
      await Promise.all(relays.splice(0).map((r) => r.stop()));
      await Promise.all(connections.splice(0).map((c) => c.close().catch(() => undefined)));
      await nats.stop();
      rmSync(store, { recursive: true, force: true });
    }
  });

  it('lets several replicas drain one outbox without publishing anything twice or out of order', async () => {
    const users = usersWith(undefined); // nobody nudged: only the replicas' flushes publish
    const before = (await env.streamEvents()).length;
    const created: string[] = [];
    for (let i = 0; i < 30; i++) created.push(await users.create({ account_id: 4001, password: 'Str0ngPass', num: String(700 + i), mail: `r${i}@example.com` }));
    const replicas = await Promise.all([relayOn(env.nats.url), relayOn(env.nats.url), relayOn(env.nats.url)]);
    await Promise.all(replicas.flatMap((r) => [r.flush(), r.flush(), r.flush()]));
    await eventually(async () => (await outbox.countUnpublished()) === 0);

    const events = (await env.streamEvents()).slice(before);
    expect(events.map((m) => m.event.user)).toEqual(created);
    expect(new Set(events.map((m) => m.event.event_id)).size).toBe(30);
  });
});
