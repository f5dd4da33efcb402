import { BeforeApplicationShutdown, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { JetStreamClient, NatsConnection, StreamSpec, ensureStream, publishDurable } from '@ringcloud/nest-nats';
import { OutboxRow, OutboxStore } from './outbox.store';

/** Told when a transaction committed new outbox messages, so they go out without waiting for a sweep. */
export abstract class OutboxSignal {
  abstract eventsWritten(): void;
}

/** For code that writes to the outbox without a relay in its process (CLI, tests): the service's sweep publishes. */
export class NoopOutboxSignal extends OutboxSignal {
  eventsWritten(): void {}
}

export interface OutboxRelayOptions {
  store: OutboxStore;
  js: JetStreamClient;
  nc: NatsConnection;
  /** Streams the relay's subjects go to, created or updated at bootstrap. */
  streams: readonly StreamSpec[];
  /** How often to look for messages that could not be published right after their commit. */
  sweepMs: number;
  /** Rows claimed per transaction (default 100). */
  batch?: number;
  /**
   * How long published rows are kept before they are deleted (default 7 days; 0 keeps them
   * forever). Longer than any redelivery of a fact whose append must stay a no-op (outboxIdFor).
   */
  keepPublishedMs?: number;
}

/** Default of OutboxRelayOptions.keepPublishedMs. */
export const KEEP_PUBLISHED_MS = 7 * 86_400_000;
const PRUNE_EVERY_MS = 3_600_000;

/**
 * Publishes outbox rows to JetStream in created order, with msgID = the row's id, so a row
 * published twice (crash between publish and marking) is dropped by the stream's duplicate window.
 * Runs right after each commit (eventsWritten) and on a sweep interval (messages written while NATS
 * was down go out later). Safe with several replicas: see OutboxStore.drainBatch.
 * A Nest provider (bootstrap starts it, shutdown stops it), or start()/stop() by hand.
 */
export class OutboxRelay extends OutboxSignal implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('OutboxRelay');
  private readonly batch: number;
  private timer?: NodeJS.Timeout;
  private pruneTimer?: NodeJS.Timeout;
  private running?: Promise<number>;
  private again = false;
  private failing = false;
  private stopped = false;
  private lastError?: string;
  /** Set by a commit: if another replica holds the relay lock, look again shortly (it may have missed the new rows). */
  private retryIfBusy = false;
  private busyTimer?: NodeJS.Timeout;

  constructor(private readonly options: OutboxRelayOptions) {
    super();
    this.batch = options.batch ?? 100;
  }

  async onApplicationBootstrap(): Promise<void> {
    for (const stream of this.options.streams) await ensureStream(this.options.nc, stream);
    this.start();
  }

  start(): void {
    this.stopped = false;
    this.timer ??= setInterval(() => void this.flush(), this.options.sweepMs);
    if ((this.options.keepPublishedMs ?? KEEP_PUBLISHED_MS) > 0) {
      // Without it the table grows by every event the service ever published.
      if (!this.pruneTimer) void this.prune();
      this.pruneTimer ??= setInterval(() => void this.prune(), PRUNE_EVERY_MS);
      this.pruneTimer.unref();
    }
    void this.flush();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearInterval(this.pruneTimer);
    clearTimeout(this.busyTimer);
    this.timer = this.pruneTimer = undefined;
    await this.running;
  }

  eventsWritten(): void {
    this.retryIfBusy = true;
    void this.flush();
  }

  /**
   * Publishes everything unpublished; resolves with how many were published. Calls made while a
   * run is in progress join it and cause one more pass, so nothing committed meanwhile waits.
   */
  flush(): Promise<number> {
    if (this.stopped) return Promise.resolve(0);
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.drain().finally(() => {
      this.running = undefined;
      if (this.again && !this.stopped) {
        this.again = false;
        void this.flush();
      }
    });
    return this.running;
  }

  private async drain(): Promise<number> {
    let total = 0;
    try {
      for (;;) {
        const retryIfBusy = this.retryIfBusy;
        this.retryIfBusy = false;
        const { claimed, published, busy } = await this.options.store.drainBatch(this.batch, (rows) => this.publish(rows));
        if (busy && retryIfBusy && !this.stopped) {
          clearTimeout(this.busyTimer);
          this.busyTimer = setTimeout(() => void this.flush(), 100);
        }
        total += published;
        if (published < claimed) throw new Error(this.lastError ?? 'publish interrupted');
        if (claimed < this.batch || this.stopped) break;
      }
      if (this.failing) this.logger.log('outbox events are being published again');
      this.failing = false;
    } catch (err) {
      // Logged once per outage; the rows stay unpublished and the next sweep retries.
      if (!this.failing) this.logger.warn(`cannot publish outbox events yet: ${(err as Error).message}`);
      this.failing = true;
    }
    return total;
  }

  /** Deletes the rows published longer ago than `keepPublishedMs`; resolves with how many. */
  async prune(): Promise<number> {
    const keep = this.options.keepPublishedMs ?? KEEP_PUBLISHED_MS;
    if (keep <= 0) return 0;
    try {
      const pruned = await this.options.store.prunePublished(new Date(Date.now() - keep));
      if (pruned) this.logger.log(`deleted ${pruned} outbox events published over ${Math.round(keep / 60_000)} minutes ago`);
      return pruned;
    } catch (err) {
      this.logger.warn(`pruning published outbox events failed (next try in an hour): ${(err as Error).message}`);
      return 0;
    }
  }

  /** Publishes in order and stops at the first failure; returns the ids that were acknowledged. */
  private async publish(rows: OutboxRow[]): Promise<string[]> {
    const done: string[] = [];
    for (const row of rows) {
      try {
        await publishDurable(this.options.js, row.subject, row.payload, row.id);
      } catch (err) {
        // Nothing acknowledged: fail the batch. Otherwise keep what went out (marked published).
        if (!done.length) throw err;
        this.lastError = (err as Error).message;
        break;
      }
      done.push(row.id);
    }
    return done;
  }
}
