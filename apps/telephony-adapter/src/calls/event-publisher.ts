import type { JetStreamClient } from '@nats-io/jetstream';
import { TelephonyDomainEvent, EVENT_CONTRACTS } from './domain-events';

export interface PublisherLogger {
  warn(message: string): void;
  error(message: string): void;
  log(message: string): void;
}

/**
 * Publishes telephony events to JetStream (stream TELEPHONY_EVENTS) in the order they were
 * produced, with msgID = event_id so a re-published fact is stored once. AMI replays nothing, so
 * an event that cannot be published now (NATS down) waits in memory and is retried with backoff,
 * keeping the order; the queue is bounded so an endless outage cannot exhaust memory.
 */
export class TelephonyEventPublisher {
  private readonly queue: TelephonyDomainEvent[] = [];
  /** Who waits to know that an event is in the stream (publishConfirmed), by event. */
  private readonly confirmations = new Map<TelephonyDomainEvent, (stored: boolean) => void>();
  private running?: Promise<void>;
  private failures = 0;
  private stopped = false;
  private idle: Array<() => void> = [];

  constructor(
    private readonly js: JetStreamClient,
    private readonly logger: PublisherLogger,
    private readonly options: { maxQueue?: number; retryMinMs?: number; retryMaxMs?: number } = {},
  ) {}

  get pending(): number {
    return this.queue.length;
  }

  publish(event: TelephonyDomainEvent): void {
    this.enqueue(event);
  }

  /**
   * Publishes like `publish` and resolves true once JetStream stored the event, false when it was
   * dropped (invalid, queue full) or the publisher stopped first — for what may only be undone
   * after the event is safe (a recording's file is removed only then).
   */
  publishConfirmed(event: TelephonyDomainEvent): Promise<boolean> {
    if (!this.enqueue(event)) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => this.confirmations.set(event, resolve));
  }

  private enqueue(event: TelephonyDomainEvent): boolean {
    const contract = EVENT_CONTRACTS[event.kind];
    const checked = contract.event.safeParse(event.payload);
    if (!checked.success) {
      // A bug in the normaliser, not a reason to stop the event flow.
      this.logger.error(`dropping invalid ${event.kind} event ${event.payload.event_id}: ${checked.error.issues[0]?.message}`);
      return false;
    }
    if (this.stopped) return false;
    if (this.queue.length >= (this.options.maxQueue ?? 100_000)) {
      this.logger.error(`telephony event queue full: dropping ${event.kind} ${event.payload.event_id}`);
      return false;
    }
    this.queue.push(event);
    this.running ??= this.drain().finally(() => (this.running = undefined));
    return true;
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

  stop(): void {
    this.stopped = true;
    for (const confirm of this.confirmations.values()) confirm(false);
    this.confirmations.clear();
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.stopped) {
      const event = this.queue[0];
      const subject = EVENT_CONTRACTS[event.kind].subject;
      try {
        await this.js.publish(subject, JSON.stringify(event.payload), { msgID: event.payload.event_id, timeout: 5000 });
        this.queue.shift();
        this.confirmations.get(event)?.(true);
        this.confirmations.delete(event);
        if (this.failures > 0) this.logger.log(`telephony events flow again after ${this.failures} failed attempts`);
        this.failures = 0;
      } catch (err) {
        if (this.failures === 0) this.logger.warn(`publishing telephony events failed (will retry, ${this.queue.length} queued): ${(err as Error).message}`);
        this.failures++;
        const min = this.options.retryMinMs ?? 200;
        await new Promise((r) => setTimeout(r, Math.min(this.options.retryMaxMs ?? 5000, min * 2 ** Math.min(this.failures, 10))));
      }
    }
    if (this.queue.length === 0) for (const wake of this.idle.splice(0)) wake();
  }
}
