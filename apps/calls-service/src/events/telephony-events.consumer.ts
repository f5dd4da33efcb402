import { setTimeout as delay } from 'node:timers/promises';
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/nats-core';
import { Consumer, ConsumerMessages, JetStreamManager, JsMsg, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { TELEPHONY_EVENTS_STREAM } from '@ringcloud/contracts-telephony';
import { ensureDurableConsumer, ensureStream, PullInProgress } from '@ringcloud/nest-nats';
import { CALLS_CONFIG, CallsConfig } from '../config/calls-config';
import { NATS_CONNECTION, Resources } from '../infra/resources';
import { EventBatchProcessor, RETRY_DELAYS_MS } from './event-batch.processor';
import { ProcessedEventsPruner } from './processed-events.pruner';

const nanos = (ms: number) => ms * 1_000_000;
/** How long one pull waits for messages: also the longest a shutdown waits for the pull in progress. */
const FETCH_EXPIRES_MS = 1000;

/**
 * The durable pull consumer of TELEPHONY_EVENTS. Every replica pulls from the same durable, so each
 * message goes to one replica; what is not acknowledged (a crash, a failed transaction) is
 * redelivered to any of them. Messages are gathered into small batches (whatever arrived together,
 * at most CALLS_EVENTS_TX_SIZE) and applied one batch at a time.
 *
 * While the database is down nothing is pulled (messages already pulled are handed back), so an
 * outage costs no delivery attempts. On shutdown pulling stops; what the last pull brings is still
 * applied and acked before the connections close.
 */
@Injectable()
export class TelephonyEventsConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('TelephonyEvents');
  private stopping = false;
  private databaseDown = false;
  private loop?: Promise<void>;
  private readonly pull = new PullInProgress();
  private chain: Promise<unknown> = Promise.resolve();
  /** Aborted at shutdown: cuts any back-off or poll short. */
  private readonly shutdown = new AbortController();
  private markReady!: () => void;
  /** Resolves once the stream and the durable exist and pulling has started (or on shutdown). */
  readonly ready = new Promise<void>((resolve) => (this.markReady = resolve));

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(CALLS_CONFIG) private readonly config: CallsConfig,
    private readonly processor: EventBatchProcessor,
    private readonly resources: Resources,
    private readonly pruner: ProcessedEventsPruner,
  ) {}

  onApplicationBootstrap(): void {
    this.loop = this.run();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    this.shutdown.abort();
    // The pull in progress ends by itself within FETCH_EXPIRES_MS, unless NATS is away: then it is ended.
    await this.pull.stop(this.loop, this.nc, FETCH_EXPIRES_MS + 2000);
    this.pruner.stop();
    this.markReady();
  }

  private async run(): Promise<void> {
    let consumer: Consumer | undefined;
    let failures = 0;
    while (!this.stopping) {
      try {
        if (this.databaseDown) {
          await this.waitForDatabase();
          continue;
        }
        consumer ??= await this.setUp();
        // One pull at a time, not cancelled (but at a shutdown with NATS away): a pull ends when it is full or after FETCH_EXPIRES_MS,
        // so stopping means "do not pull again" and nothing already sent to us is dropped.
        const messages = this.pull.track(await consumer.fetch({ max_messages: this.config.consumer.batch, expires: FETCH_EXPIRES_MS }));
        this.markReady();
        if (failures) this.logger.log('consuming telephony events again');
        failures = 0;
        await this.drain(messages);
      } catch (err) {
        if (this.stopping) break;
        consumer = undefined;
        if (failures++ === 0) this.logger.warn(`cannot consume telephony events yet: ${(err as Error).message}`);
        await this.sleep(Math.min(250 * 2 ** failures, 5000));
      }
    }
  }

  /** Ensures the stream and the durable consumer, and starts pruning the idempotency records. */
  private async setUp(): Promise<Consumer> {
    const jsm = await jetstreamManager(this.nc);
    const maxAgeNs = await this.ensureStreamExists(jsm);
    await this.ensureDurable();
    this.pruner.start(maxAgeNs / 1_000_000);
    return jetstream(this.nc).consumers.get(TELEPHONY_EVENTS_STREAM.name, this.config.consumer.durableName);
  }

  /**
   * The telephony adapter owns the stream's settings; calls-service only creates it when missing
   * (either may start first) and otherwise leaves it as it is. Returns its max_age (ns).
   */
  private async ensureStreamExists(jsm: JetStreamManager): Promise<number> {
    const info = () => jsm.streams.info(TELEPHONY_EVENTS_STREAM.name);
    try {
      return (await info()).config.max_age;
    } catch (err) {
      if (!/stream not found/i.test((err as Error).message)) throw err;
    }
    try {
      await ensureStream(this.nc, TELEPHONY_EVENTS_STREAM);
    } catch (err) {
      // Created meanwhile by the adapter or another replica: fine.
      this.logger.debug(`creating ${TELEPHONY_EVENTS_STREAM.name}: ${(err as Error).message}`);
    }
    return (await info()).config.max_age;
  }

  private async ensureDurable(): Promise<void> {
    const { durableName, ackWaitMs, maxAckPending, maxAttempts } = this.config.consumer;
    await ensureDurableConsumer(this.nc, TELEPHONY_EVENTS_STREAM.name, durableName, {
      description: 'calls-service: call records and recordings from telephony events',
      ack_wait: nanos(ackWaitMs),
      max_ack_pending: maxAckPending,
      // A backstop only: the service itself terminates an event that keeps failing after
      // maxAttempts; outages and crashes add deliveries that are no fault of the event.
      max_deliver: maxAttempts * 3,
    });
  }

  /**
   * Gathers messages into batches: a batch closes when it is full or when nothing more has arrived
   * in this turn of the event loop. Waiting for a full batch to be applied is the backpressure.
   */
  private async drain(messages: ConsumerMessages): Promise<void> {
    let batch: JsMsg[] = [];
    let timer: NodeJS.Timeout | undefined;
    const flush = (): Promise<unknown> => {
      clearTimeout(timer);
      timer = undefined;
      if (batch.length) {
        const taken = batch;
        batch = [];
        this.chain = this.chain.then(() => this.handle(taken));
      }
      return this.chain;
    };
    try {
      for await (const msg of messages) {
        batch.push(msg);
        if (batch.length >= this.config.consumer.txSize) await flush();
        else timer ??= setTimeout(() => void flush(), 0);
      }
    } finally {
      await flush();
    }
  }

  private async handle(batch: JsMsg[]): Promise<void> {
    if (this.databaseDown) {
      for (const msg of batch) msg.nak(RETRY_DELAYS_MS[0]);
      return;
    }
    try {
      const outcome = await this.processor.process(batch);
      // Stop pulling: the rest of this pull is handed back unprocessed (see above).
      if (outcome.databaseDown) this.databaseDown = true;
    } catch (err) {
      // The processor settles every message itself; this is a bug. Hand them back.
      this.logger.error(`processing a batch failed: ${(err as Error).stack ?? err}`);
      for (const msg of batch) msg.nak(RETRY_DELAYS_MS[0]);
    }
  }

  private async waitForDatabase(): Promise<void> {
    while (!this.stopping) {
      try {
        await this.resources.checkDatabase();
        this.databaseDown = false;
        this.logger.log('database is back: consuming telephony events again');
        return;
      } catch {
        await this.sleep(1000);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return delay(ms, undefined, { signal: this.shutdown.signal }).catch(() => undefined);
  }
}
