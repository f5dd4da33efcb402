import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { Metrics } from '@ringcloud/nest-observability';
import {
  AckPolicy,
  ConsumerUpdateConfig,
  DeliverPolicy,
  JetStreamClient,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';

/** A plain NATS connection (for JetStream and broadcast subscriptions the Nest transport lacks). */
export async function connectNats(servers: string, name: string): Promise<NatsConnection> {
  const nc = await connect({ servers, name, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  followStatus(nc);
  return nc;
}

/** Connections of connectNats whose server is away right now (disconnected, not yet reconnected). */
const away = new WeakSet<NatsConnection>();

function followStatus(nc: NatsConnection): void {
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') away.add(nc);
      else if (status.type === 'reconnect') away.delete(nc);
    }
  })().catch(() => undefined);
}

/** Whether a connection made by connectNats has lost its server and not found it again yet. */
export function isAway(nc: NatsConnection): boolean {
  return away.has(nc);
}

/**
 * Drains a connection (what it publishes leaves, its subscriptions end) — but not for ever: with
 * the server away, drain waits for it to come back, and a service stopping while NATS is down never
 * stopped. After `timeoutMs` the connection is closed as it is. Resolves whether it drained.
 */
export async function drainOrClose(nc: NatsConnection, timeoutMs = 5000): Promise<boolean> {
  if (nc.isClosed()) return true;
  let drained = false;
  await settledWithin(nc.drain().then(() => (drained = true)), timeoutMs);
  if (!drained) await nc.close().catch(() => undefined);
  return drained;
}

/** Resolves when `work` settles or after `timeoutMs`, whichever comes first: whether it settled. */
export async function settledWithin(work: Promise<unknown>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
  try {
    return await Promise.race([work.then(() => true, () => true), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

export interface StreamSpec {
  name: string;
  subjects: readonly string[];
  /** 1 in dev; 3 on a clustered JetStream in production. */
  replicas?: number;
  /** How long messages are kept (default 7 days). */
  maxAgeMs?: number;
}

/** Creates the stream, or updates its subjects if it already exists (idempotent at every start). */
export async function ensureStream(nc: NatsConnection, spec: StreamSpec): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const config = {
    name: spec.name,
    subjects: [...spec.subjects],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    // Deployments set NATS_STREAM_REPLICAS (validated by BaseEnv at start): 3 on a clustered JetStream.
    num_replicas: spec.replicas ?? (Number(process.env.NATS_STREAM_REPLICAS) || 1),
    max_age: (spec.maxAgeMs ?? 7 * 24 * 3600 * 1000) * 1_000_000,
    duplicate_window: 2 * 60 * 1_000_000_000,
  };
  try {
    await jsm.streams.info(spec.name);
    await jsm.streams.update(spec.name, config);
  } catch (err) {
    if ((err as Error).message?.includes('stream not found')) await jsm.streams.add(config);
    else throw err;
  }
}

/**
 * Creates the durable pull consumer `name` on `stream` (explicit acks, starting with everything the
 * stream still holds), or, when it exists, applies `settings` to it, so a changed setting in code
 * reaches a running deployment at the next start without losing the durable's position.
 * Throws when the stream does not exist.
 */
export async function ensureDurableConsumer(
  nc: NatsConnection,
  stream: string,
  name: string,
  settings: Partial<ConsumerUpdateConfig>,
): Promise<void> {
  const jsm = await jetstreamManager(nc);
  try {
    await jsm.consumers.info(stream, name);
    await jsm.consumers.update(stream, name, settings);
  } catch (err) {
    if (!/consumer not found/i.test((err as Error).message)) throw err;
    await jsm.consumers.add(stream, {
      ...settings,
      durable_name: name,
      ack_policy: AckPolicy.Explicit,
      // A new durable starts with everything the stream still holds: nothing published before it is missed.
      deliver_policy: DeliverPolicy.All,
    });
  }
}

/**
 * Publishes one durable event; `msgID` makes a retried publish of the same event a no-op
 * inside the stream's duplicate window.
 */
export async function publishDurable(js: JetStreamClient, subject: string, payload: unknown, msgID: string): Promise<void> {
  await js.publish(subject, JSON.stringify(payload), { msgID });
}

export { jetstream };
export type { JetStreamClient, NatsConnection };

/**
 * Samples a durable consumer's lag (`num_pending`) into rc_jetstream_consumer_pending every
 * `everyMs`; returns a stop function. A failed sample keeps the last value.
 */
export function sampleConsumerLag(nc: NatsConnection, stream: string, consumer: string, everyMs = 10_000): () => void {
  const gauge = Metrics.consumerPending();
  const sample = async () => {
    try {
      const info = await (await jetstreamManager(nc)).consumers.info(stream, consumer);
      gauge.set({ stream, consumer }, info.num_pending);
    } catch {
      // not created yet, or NATS away: try again next time
    }
  };
  void sample();
  const timer = setInterval(sample, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
