import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { USERS_EVENTS_STREAM } from '@ringcloud/contracts-users';
import { JetStreamClient, ensureStream, publishDurable } from '@ringcloud/nest-nats';
import type { NatsConnection } from '@nats-io/nats-core';
import { OutboxRepository } from './outbox.repository';

/** Told when a transaction committed new outbox events, so they go out without waiting for a sweep. */
export abstract class OutboxSignal {
  abstract eventsWritten(): void;
}

export class NoopOutboxSignal extends OutboxSignal {
  eventsWritten(): void {}
}

export const JETSTREAM = Symbol('JETSTREAM');
export const NATS_CONNECTION = Symbol('NATS_CONNECTION');
export const OUTBOX_SWEEP_MS = Symbol('OUTBOX_SWEEP_MS');

const BATCH = 100;

/**
 * Publishes outbox rows to JetStream in created order, with msgID = event id so a row published
 * twice (crash between publish and marking) is dropped by the stream's duplicate window.
 * Runs right after each commit and on a sweep interval (events written while NATS was down go
 * out later). Safe with several replicas: see OutboxRepository.drainBatch.
 */
@Injectable()
export class OutboxRelay extends OutboxSignal implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('OutboxRelay');
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;
  private again = false;
  private failing = false;
  private stopped = false;
  private lastError?: string;
  /** Set by a commit: if another replica holds the relay lock, look again shortly (it may have missed the new rows). */
  private retryIfBusy = false;
  private busyTimer?: NodeJS.Timeout;

  constructor(
    private readonly outbox: OutboxRepository,
    @Inject(JETSTREAM) private readonly js: JetStreamClient,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(OUTBOX_SWEEP_MS) private readonly sweepMs: number,
  ) {
    super();
  }

  async onApplicationBootstrap(): Promise<void> {
    await ensureStream(this.nc, USERS_EVENTS_STREAM);
    this.start();
  }

  start(): void {
    this.stopped = false;
    this.timer ??= setInterval(() => void this.flush(), this.sweepMs);
    void this.flush();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.busyTimer);
    this.timer = undefined;
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
        const { claimed, published, busy } = await this.outbox.drainBatch(BATCH, (rows) => this.publish(rows));
        if (busy && retryIfBusy && !this.stopped) {
          clearTimeout(this.busyTimer);
          this.busyTimer = setTimeout(() => void this.flush(), 100);
        }
        total += published;
        if (published < claimed) throw new Error(this.lastError ?? 'publish interrupted');
        if (claimed < BATCH || this.stopped) break;
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

  /** Publishes in order and stops at the first failure; returns the ids that were acknowledged. */
  private async publish(rows: Array<{ id: string; subject: string; payload: unknown }>): Promise<string[]> {
    const done: string[] = [];
    for (const row of rows) {
      try {
        await publishDurable(this.js, row.subject, row.payload, row.id);
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
