import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connectNats, ensureDurableConsumer, ensureStream } from './jetstream';

// The machine's NATS (as every unit test): a stream of this file's own, removed afterwards.
const NATS_URL = process.env.NATS_TEST_URL ?? process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const tag = `nats_lib_test_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
const STREAM = { name: tag.toUpperCase(), subjects: [`${tag}.>`] };
const nanos = (ms: number) => ms * 1_000_000;

describe('ensureDurableConsumer (JetStream)', () => {
  let nc: NatsConnection;

  beforeAll(async () => {
    nc = await connectNats(NATS_URL, 'nest-nats-spec');
    await ensureStream(nc, STREAM);
  });
  afterAll(async () => {
    await (await jetstreamManager(nc)).streams.delete(STREAM.name).catch(() => undefined);
    await nc.close();
  });

  it('creates a durable with explicit acks that starts with everything the stream holds', async () => {
    const js = jetstream(nc);
    await js.publish(`${tag}.a`, 'before');
    await ensureDurableConsumer(nc, STREAM.name, 'created', { description: 'spec', ack_wait: nanos(5000), max_ack_pending: 7 });

    const info = await (await jetstreamManager(nc)).consumers.info(STREAM.name, 'created');
    expect(info.config).toMatchObject({
      durable_name: 'created',
      description: 'spec',
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(5000),
      max_ack_pending: 7,
    });
    const consumer = await js.consumers.get(STREAM.name, 'created');
    const msg = await consumer.next({ expires: 2000 });
    expect(msg?.string()).toBe('before');
    msg?.ack();
  });

  it('applies changed settings to an existing durable and keeps its position', async () => {
    const js = jetstream(nc);
    await ensureDurableConsumer(nc, STREAM.name, 'updated', { description: 'old', ack_wait: nanos(5000), max_ack_pending: 7, max_deliver: 5 });
    await js.publish(`${tag}.b`, 'one');
    const first = await (await js.consumers.get(STREAM.name, 'updated')).next({ expires: 2000 });
    await first?.ackAck();

    await ensureDurableConsumer(nc, STREAM.name, 'updated', { description: 'new', ack_wait: nanos(9000), max_ack_pending: 3, max_deliver: 9 });

    const info = await (await jetstreamManager(nc)).consumers.info(STREAM.name, 'updated');
    expect(info.config).toMatchObject({ description: 'new', ack_wait: nanos(9000), max_ack_pending: 3, max_deliver: 9 });
    // Not recreated: what was acknowledged before stays acknowledged.
    expect(first).toBeDefined();
    expect(info.ack_floor.stream_seq).toBe(first?.seq);
    expect(info.delivered.stream_seq).toBe(first?.seq);
    // The stream holds two messages ('before' from the first test, 'one'): only the second is left.
    expect(info.num_pending).toBe(1);
  });

  it('is idempotent when nothing changed', async () => {
    const settings = { description: 'same', ack_wait: nanos(5000), max_ack_pending: 2 };
    await ensureDurableConsumer(nc, STREAM.name, 'same', settings);
    await ensureDurableConsumer(nc, STREAM.name, 'same', settings);
    const names: string[] = [];
    for await (const c of (await jetstreamManager(nc)).consumers.list(STREAM.name)) names.push(c.name);
    expect(names.filter((n) => n === 'same')).toHaveLength(1);
  });

  it('fails when the stream does not exist', async () => {
    await expect(ensureDurableConsumer(nc, `${STREAM.name}_MISSING`, 'x', { max_ack_pending: 1 })).rejects.toThrow(/stream not found/i);
  });
});
