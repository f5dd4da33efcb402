import { Inject, Injectable, Logger } from '@nestjs/common';
import type { JsMsg } from '@nats-io/jetstream';
import { CALLS_CONFIG, CallsConfig } from '../config/calls-config';
import { isDatabaseUnavailable, isRetryableConflict } from '../infra/prisma-errors';
import { PbxClock } from '../time/pbx-clock';
import { CallEvent, parseCallEvent } from './call-event';
import { BatchResult, CallEventsRepository } from './call-events.repository';

/** Redelivery delays after a failed attempt (by attempt number, the last one repeats). */
export const RETRY_DELAYS_MS = [1000, 2000, 5000, 10_000, 30_000, 60_000];
const CONFLICT_RETRIES = 3;

export interface ProcessOutcome {
  acked: number;
  terminated: number;
  nacked: number;
  /** The database could not be reached: the caller should stop pulling until it is back. */
  databaseDown: boolean;
}

interface Pending {
  msg: JsMsg;
  event: CallEvent;
}

/**
 * Applies pulled JetStream messages and settles each one:
 * - a poison message (never applicable: bad subject, JSON or shape) is terminated at once and logged;
 * - valid events are applied in transactions of `txSize`, ordered by call so that concurrent
 *   replicas lock rows in the same order; each message is acked only after its transaction commits;
 * - a failing transaction is retried event by event so one bad event cannot hold back the others;
 *   a failing event is redelivered with growing delays and terminated (logged as an error) after
 *   `maxAttempts`; a database outage never counts as an attempt: everything is redelivered later.
 */
@Injectable()
export class EventBatchProcessor {
  private readonly logger = new Logger('TelephonyEvents');

  constructor(
    private readonly repository: CallEventsRepository,
    @Inject(PbxClock) private readonly clock: PbxClock,
    @Inject(CALLS_CONFIG) private readonly config: CallsConfig,
  ) {}

  async process(messages: JsMsg[]): Promise<ProcessOutcome> {
    const outcome: ProcessOutcome = { acked: 0, terminated: 0, nacked: 0, databaseDown: false };
    const valid: Pending[] = [];
    for (const msg of messages) {
      const parsed = parseCallEvent(msg.subject, msg.data, this.clock, new Date(Math.floor(msg.info.timestampNanos / 1_000_000)));
      if (parsed.ok) valid.push({ msg, event: parsed.event });
      else {
        this.logger.warn(`poison message terminated: ${msg.subject} (stream seq ${msg.seq}): ${parsed.reason}`);
        // No reason text: nats-server < 2.10.4 does not recognise `+TERM <reason>` and leaves the message pending.
        msg.term();
        outcome.terminated++;
      }
    }
    // Stable sort: a call's events keep their stream order; rows are locked in call_id order.
    valid.sort((a, b) => (a.event.callId < b.event.callId ? -1 : a.event.callId > b.event.callId ? 1 : 0));
    for (let i = 0; i < valid.length; i += this.config.consumer.txSize) {
      const chunk = valid.slice(i, i + this.config.consumer.txSize);
      if (outcome.databaseDown) this.redeliverLater(chunk, outcome);
      else await this.applyChunk(chunk, outcome);
    }
    return outcome;
  }

  private async applyChunk(chunk: Pending[], outcome: ProcessOutcome): Promise<void> {
    try {
      this.report(await this.withConflictRetries(chunk.map((p) => p.event)));
      for (const p of chunk) p.msg.ack();
      outcome.acked += chunk.length;
      return;
    } catch (err) {
      if (isDatabaseUnavailable(err)) return this.databaseDown(chunk, outcome, err);
      if (chunk.length === 1) return this.failed(chunk[0], err, outcome);
    }
    // One of them is at fault: apply them one by one.
    for (let i = 0; i < chunk.length; i++) {
      const p = chunk[i];
      try {
        this.report(await this.withConflictRetries([p.event]));
        p.msg.ack();
        outcome.acked++;
      } catch (err) {
        if (isDatabaseUnavailable(err)) return this.databaseDown(chunk.slice(i), outcome, err);
        this.failed(p, err, outcome);
      }
    }
  }

  private async withConflictRetries(events: CallEvent[]): Promise<BatchResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.repository.applyBatch(events);
      } catch (err) {
        if (!isRetryableConflict(err) || attempt >= CONFLICT_RETRIES) throw err;
      }
    }
  }

  private report(result: BatchResult): void {
    for (const { event, reason } of result.ignored) {
      this.logger.warn(`event ${event.type} ${event.eventId} of call ${event.callId} ignored: ${reason}`);
    }
    for (const event of result.seqReused) {
      this.logger.warn(`event ${event.eventId} of call ${event.callId} skipped: seq ${event.seq} was already applied under another event_id`);
    }
  }

  private failed(p: Pending, err: unknown, outcome: ProcessOutcome): void {
    const attempt = p.msg.info.deliveryCount;
    const what = `${p.event.type} ${p.event.eventId} of call ${p.event.callId} (stream seq ${p.msg.seq})`;
    const why = err instanceof Error ? err.message.split('\n').slice(-1)[0] : String(err);
    if (attempt >= this.config.consumer.maxAttempts) {
      this.logger.error(`event ${what} dropped after ${attempt} attempts: ${why}`);
      p.msg.term();
      outcome.terminated++;
    } else {
      this.logger.warn(`event ${what} failed (attempt ${attempt}), will retry: ${why}`);
      p.msg.nak(retryDelay(attempt));
      outcome.nacked++;
    }
  }

  private databaseDown(rest: Pending[], outcome: ProcessOutcome, err: unknown): void {
    if (!outcome.databaseDown) this.logger.warn(`database unavailable (${(err as { code?: string }).code ?? (err as Error).message}): events will be redelivered`);
    outcome.databaseDown = true;
    this.redeliverLater(rest, outcome);
  }

  private redeliverLater(rest: Pending[], outcome: ProcessOutcome): void {
    for (const p of rest) p.msg.nak(RETRY_DELAYS_MS[0]);
    outcome.nacked += rest.length;
  }
}

export function retryDelay(attempt: number): number {
  return RETRY_DELAYS_MS[Math.min(Math.max(attempt, 1), RETRY_DELAYS_MS.length) - 1];
}
