import { setTimeout as delay } from 'node:timers/promises';
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/nats-core';
import { Consumer, JsMsg, jetstream } from '@nats-io/jetstream';
import { CRM_EVENTS_STREAM, CrmEvent } from '@ringcloud/contracts-events';
import { ensureDurableConsumer, ensureStream, PullInProgress } from '@ringcloud/nest-nats';
import { WEBHOOKS_CONFIG, WebhooksConfig } from '../config/webhooks-config';
import { Dispatcher } from '../delivery/dispatcher';
import { NATS_CONNECTION } from '../infra/resources';
import { EventsRepository } from './events.repository';
import { IngestLock } from './ingest-lock';

const nanos = (ms: number) => ms * 1_000_000;
/** How long one pull waits for messages: also the longest a shutdown waits for the pull in progress. */
const FETCH_EXPIRES_MS = 1000;
const BATCH = 200;
/** A batch that could not be stored is handed back and tried again after this long. */
const RETRY_DELAY_MS = 1000;

/** How often a standby replica tries to become the ingester. */
const STANDBY_POLL_MS = 1000;
/** How often a replica taking over looks whether its predecessor's messages are all settled. */
const TAKEOVER_POLL_MS = 200;

/**
 * The durable pull consumer of CRM_EVENTS. One replica at a time pulls (IngestLock), so events are
 * stored in stream order; each pull is stored in one transaction and acknowledged only after the
 * commit, so an event is never lost: a batch that cannot be stored is tried again, in place, until
 * it is (nothing newer is pulled meanwhile, so the order holds); what a crash leaves unacknowledged
 * is redelivered and de-duplicated by id. Fail-over keeps the order too: a replica that loses the
 * lock can no longer store (IngestLock fences), and the one taking over pulls nothing new while
 * messages its predecessor pulled are unsettled (see takeOver).
 */
@Injectable()
export class CrmEventsConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('CrmEvents');
  private stopping = false;
  private loop?: Promise<void>;
  private readonly pull = new PullInProgress();
  /** Aborted at shutdown: cuts any back-off or poll short. */
  private readonly shutdown = new AbortController();
  private markReady!: () => void;
  private readonly lock: IngestLock;
  /** Resolves once the stream and the durable exist and pulling has started (or on shutdown). */
  readonly ready = new Promise<void>((resolve) => (this.markReady = resolve));

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(WEBHOOKS_CONFIG) private readonly config: WebhooksConfig,
    private readonly events: EventsRepository,
    private readonly dispatcher: Dispatcher,
  ) {
    this.lock = new IngestLock(config.databaseUrl);
  }

  onApplicationBootstrap(): void {
    this.loop = this.run();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    this.shutdown.abort();
    // The pull in progress ends by itself within FETCH_EXPIRES_MS, unless NATS is away: then it is ended.
    await this.pull.stop(this.loop, this.nc, FETCH_EXPIRES_MS + 2000);
    await this.lock.release();
    this.markReady();
  }

  /** Whether this replica is the one pulling CRM_EVENTS now. */
  get ingesting(): boolean {
    return this.lock.held;
  }

  private async run(): Promise<void> {
    let consumer: Consumer | undefined;
    let failures = 0;
    while (!this.stopping) {
      try {
        consumer ??= await this.setUp();
        const heldBefore = this.lock.held;
        if (!(await this.lock.tryAcquire())) {
          // Another replica ingests; this one is ready all the same (it delivers and answers).
          this.markReady();
          await this.sleep(STANDBY_POLL_MS);
          continue;
        }
        if (!heldBefore) await this.takeOver(consumer);
        // One pull at a time, not cancelled (but at a shutdown with NATS away): stopping means "do not pull again".
        const messages = this.pull.track(await consumer.fetch({ max_messages: BATCH, expires: FETCH_EXPIRES_MS }));
        this.markReady();
        if (failures) this.logger.log('consuming CRM events again');
        failures = 0;
        const batch: JsMsg[] = [];
        for await (const msg of messages) {
          batch.push(msg);
          // Store what has arrived so far without waiting for the pull to fill up or expire.
          if (messages.getPending() === 0 || batch.length >= BATCH) await this.handle(batch.splice(0));
        }
        if (batch.length) await this.handle(batch);
      } catch (err) {
        if (this.stopping) break;
        consumer = undefined;
        if (failures++ === 0) this.logger.warn(`cannot consume CRM events yet: ${(err as Error).message}`);
        await this.sleep(Math.min(250 * 2 ** failures, 5000));
      }
    }
  }

  /**
   * Messages the previous ingester pulled and never settled (it died, or lost the lock mid-store)
   * come back once their ack_wait is over, and then before anything new: JetStream serves
   * redeliveries first. Pulling sooner would store newer events ahead of them, so wait until none
   * is pending or an ack_wait has passed (a fail-over after a crash costs up to that long).
   */
  private async takeOver(consumer: Consumer): Promise<void> {
    const deadline = Date.now() + this.config.ingestAckWaitMs + TAKEOVER_POLL_MS;
    let waited = false;
    while (!this.stopping && Date.now() < deadline) {
      const { num_ack_pending: pending } = await consumer.info();
      if (!pending) break;
      if (!waited) this.logger.log(`taking over ingestion: waiting for ${pending} CRM events the previous ingester left unsettled`);
      waited = true;
      await this.sleep(TAKEOVER_POLL_MS);
    }
  }

  private async setUp(): Promise<Consumer> {
    await ensureStream(this.nc, CRM_EVENTS_STREAM).catch((err: Error) => {
      // Created or updated meanwhile by a producer or another replica: fine if it exists now.
      this.logger.debug(`ensuring ${CRM_EVENTS_STREAM.name}: ${err.message}`);
    });
    const name = this.config.consumerName;
    await ensureDurableConsumer(this.nc, CRM_EVENTS_STREAM.name, name, {
      description: 'webhooks-service: the event feed and webhook deliveries',
      ack_wait: nanos(this.config.ingestAckWaitMs),
      max_ack_pending: 10_000,
    });
    return jetstream(this.nc).consumers.get(CRM_EVENTS_STREAM.name, name);
  }

  private async handle(batch: JsMsg[]): Promise<void> {
    const valid: Array<{ msg: JsMsg; event: CrmEvent }> = [];
    for (const msg of batch) {
      const parsed = parse(msg);
      if (parsed) valid.push({ msg, event: parsed });
      else {
        // Not a CRM event: redelivering it would not help.
        this.logger.warn(`dropping a malformed message on ${msg.subject} (stream seq ${msg.seq})`);
        msg.term();
      }
    }
    if (!valid.length) return;
    for (let failures = 0; ; failures++) {
      try {
        const { deliveries } = await this.events.store(valid.map((v) => v.event), this.lock);
        for (const { msg } of valid) msg.ack();
        if (deliveries) this.dispatcher.wake();
        if (failures) this.logger.log('storing CRM events again');
        return;
      } catch (err) {
        if (failures === 0) this.logger.warn(`storing ${valid.length} CRM events failed, trying again: ${(err as Error).message}`);
        // Lost the ingest lock, or shutting down: hand them back (redelivered to the next ingester).
        if (this.stopping || !this.lock.held) {
          for (const { msg } of valid) msg.nak(RETRY_DELAY_MS);
          return;
        }
        // Still ours: keep them unacknowledged a while longer and try again.
        for (const { msg } of valid) msg.working();
        await this.sleep(Math.min(RETRY_DELAY_MS * 2 ** failures, 10_000));
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return delay(ms, undefined, { signal: this.shutdown.signal }).catch(() => undefined);
  }
}

function parse(msg: JsMsg): CrmEvent | undefined {
  try {
    const result = CrmEvent.safeParse(msg.json());
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
}
