import type { JetStreamClient } from '@nats-io/jetstream';
import { TelephonyDomainEvent, EVENT_CONTRACTS } from './domain-events';

export interface PublisherLogger {
  warn(message: string): void;
  error(message: string): void;
  log(message: string): void;
}

/** Where events go that cannot wait in memory: kept durably, published later by someone else (the adapter's outbox). */
export interface EventSpill {
  /** Resolves once the events are kept; rejects when they could not be. */
  keep(events: readonly TelephonyDomainEvent[]): Promise<void>;
}

export interface PublisherOptions {
  maxQueue?: number;
  retryMinMs?: number;
  retryMaxMs?: number;
  /** Without one, what is still queued at stop() and what overflows the queue is lost (and logged). */
  spill?: EventSpill;
}

/**
 * Publishes telephony events to JetStream (stream TELEPHONY_EVENTS) in the order they were
 * produced, with msgID = event_id so a re-published fact is stored once. AMI replays nothing, so
 * an event that cannot be published now (NATS down) waits in memory and is retried with backoff,
 * keeping the order. The queue is bounded so an endless outage cannot exhaust memory: what
 * overflows it, and what is still queued when the process stops, goes to the spill (PostgreSQL)
 * and is published from there once NATS is back — possibly after later events of its call, which
 * consumers order by `seq`.
 */
export class TelephonyEventPublisher {
  private readonly queue: TelephonyDomainEvent[] = [];
  /** Who waits to know that an event is in the stream (publishConfirmed), by event. */
  private readonly confirmations = new Map<TelephonyDomainEvent, (stored: boolean) => void>();
  private running?: Promise<void>;
  private failures = 0;
  private stopped = false;
  private idle: Array<() => void> = [];
  /** Ends the wait between two failed attempts early (stop). */
  private wakeRetry?: () => void;
  private overflowing = false;

  constructor(
    private readonly js: JetStreamClient,
    private readonly logger: PublisherLogger,
    private readonly options: PublisherOptions = {},
  ) {}

  get pending(): number {
    return this.queue.length;
  }

  /** The last attempt to publish failed (NATS away): waiting for the queue to drain is likely vain. */
  get failing(): boolean {
    return this.failures > 0;
  }

  publish(event: TelephonyDomainEvent): void {
    this.enqueue(event);
  }

  /**
   * Publishes like `publish` and resolves true once the event is safe — stored by JetStream, or kept
   * in the spill to be published from there — and false when it was lost (invalid, or nowhere to
   * keep it): for what may only be undone after the event is safe (a recording's file is removed only then).
   */
  publishConfirmed(event: TelephonyDomainEvent): Promise<boolean> {
    const queued = this.enqueue(event);
    if (queued !== true) return queued;
    return new Promise<boolean>((resolve) => this.confirmations.set(event, resolve));
  }

  /** True when queued; otherwise whether the event was kept elsewhere (spilled) or not at all. */
  private enqueue(event: TelephonyDomainEvent): true | Promise<boolean> {
    const contract = EVENT_CONTRACTS[event.kind];
    const checked = contract.event.safeParse(event.payload);
    if (!checked.success) {
      // A bug in the normaliser, not a reason to stop the event flow.
      this.logger.error(`dropping invalid ${event.kind} event ${event.payload.event_id}: ${checked.error.issues[0]?.message}`);
      return Promise.resolve(false);
    }
    if (this.stopped) return this.keepAside([event], 'the publisher has stopped');
    if (this.queue.length >= (this.options.maxQueue ?? 100_000)) {
      if (!this.overflowing) this.logger.error(`telephony event queue full (${this.queue.length}): further events go to the outbox until it drains`);
      this.overflowing = true;
      return this.keepAside([event], 'the queue is full');
    }
    this.overflowing = false;
    this.queue.push(event);
    this.running ??= this.drain().finally(() => (this.running = undefined));
    return true;
  }

  /** Hands events to the spill; resolves whether they are kept. Never rejects. */
  private async keepAside(events: readonly TelephonyDomainEvent[], why: string): Promise<boolean> {
    const ids = () => events.map((e) => `${e.kind} ${e.payload.event_id}`).slice(0, 5).join(', ') + (events.length > 5 ? ', …' : '');
    if (!this.options.spill) {
      this.logger.error(`${events.length} telephony events lost (${why}, nowhere to keep them): ${ids()}`);
      return false;
    }
    try {
      await this.options.spill.keep(events);
      return true;
    } catch (err) {
      this.logger.error(`${events.length} telephony events lost (${why}; keeping them failed: ${(err as Error).message}): ${ids()}`);
      return false;
    }
  }

  /** Resolves when everything queued so far is published, or after `timeoutMs`. */
  async flush(timeoutMs = 5000): Promise<boolean> {
    if (this.queue.length === 0) return true;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.idle.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /**
   * Stops publishing and hands what is still queued to the spill, in order; whoever waits on one of
   * those events learns whether it was kept. The attempt in flight ends first — unless NATS is known
   * to be away (`natsAway`): then it would only time out (5 s), and its event is spilled with the rest
   * (should it reach JetStream all the same, the outbox's copy is a duplicate consumers skip).
   */
  async stop(options: { natsAway?: boolean } = {}): Promise<void> {
    this.stopped = true;
    this.wakeRetry?.();
    if (!options.natsAway) await this.running;
    const left = this.queue.splice(0);
    if (left.length) {
      const kept = await this.keepAside(left, 'not published before shutdown');
      if (kept) this.logger.warn(`${left.length} telephony events not published before shutdown: kept in the outbox, published from there`);
      for (const event of left) this.confirmations.get(event)?.(kept);
    }
    for (const confirm of this.confirmations.values()) confirm(false);
    this.confirmations.clear();
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.stopped) {
      const event = this.queue[0];
      const subject = EVENT_CONTRACTS[event.kind].subject;
      try {
        await this.js.publish(subject, JSON.stringify(event.payload), { msgID: event.payload.event_id, timeout: 5000 });
        // (stop() may have taken the queue meanwhile: NATS was away, the attempt not waited for.)
        if (this.queue[0] === event) this.queue.shift();
        this.confirmations.get(event)?.(true);
        this.confirmations.delete(event);
        if (this.failures > 0) this.logger.log(`telephony events flow again after ${this.failures} failed attempts`);
        this.failures = 0;
      } catch (err) {
        if (this.stopped) break;
        if (this.failures === 0) this.logger.warn(`publishing telephony events failed (will retry, ${this.queue.length} queued): ${(err as Error).message}`);
        this.failures++;
        const min = this.options.retryMinMs ?? 200;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(this.options.retryMaxMs ?? 5000, min * 2 ** Math.min(this.failures, 10)));
          this.wakeRetry = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wakeRetry = undefined;
      }
    }
    if (this.queue.length === 0) for (const wake of this.idle.splice(0)) wake();
  }
}
