import { Logger } from '@nestjs/common';
import type { JsMsg } from '@nats-io/jetstream';
import { CallsConfig } from '../config/calls-config';
import { PbxClock } from '../time/pbx-clock';
import { callEvents } from '../testing/call-events';
import type { CallEvent } from './call-event';
import type { BatchResult, CallEventsRepository } from './call-events.repository';
import { EventBatchProcessor, retryDelay } from './event-batch.processor';

/**
 * How each message is settled (ack / nak with delay / term). The database side is covered against
 * PostgreSQL elsewhere; here the repository is a stand-in whose failures the test chooses.
 */
describe('EventBatchProcessor', () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['error', 'warn', 'log']));
  const clock = new PbxClock('UTC');
  const config = { consumer: { txSize: 100, maxAttempts: 3 } } as CallsConfig;
  const start = new Date('2026-11-26T10:00:00Z');
  const spec = (callId: string) => ({
    callId,
    account: 1001,
    user: '1679728441',
    src: '401',
    dst: '555',
    direction: 'outgoing' as const,
    start,
    answer: null,
    end: new Date(start.getTime() + 5000),
    disposition: 'NO ANSWER' as const,
  });

  class FakeMsg {
    settled: string[] = [];
    constructor(
      readonly subject: string,
      readonly data: Uint8Array,
      readonly seq: number,
      readonly deliveryCount = 1,
    ) {}
    get info() {
      return { deliveryCount: this.deliveryCount, timestampNanos: Date.now() * 1e6 };
    }
    ack() {
      this.settled.push('ack');
    }
    nak(delay?: number) {
      this.settled.push(`nak ${delay}`);
    }
    term() {
      this.settled.push('term');
    }
  }
  const msgs = (callId: string, deliveryCount = 1) =>
    callEvents(spec(callId), clock).map((e, i) => new FakeMsg(e.subject, new TextEncoder().encode(JSON.stringify(e.payload)), i + 1, deliveryCount));

  function processorWith(apply: (events: CallEvent[]) => Promise<BatchResult>) {
    const calls: string[][] = [];
    const repository = {
      applyBatch: (events: CallEvent[]) => {
        calls.push(events.map((e) => `${e.callId}#${e.seq}`));
        return apply(events);
      },
    } as unknown as CallEventsRepository;
    return { processor: new EventBatchProcessor(repository, clock, config), calls };
  }
  const ok = async (events: CallEvent[]): Promise<BatchResult> => ({ applied: events.length, duplicates: 0, ignored: [], seqReused: [], announced: 0 });

  it('acks everything after one transaction, and terminates poison at once', async () => {
    const { processor, calls } = processorWith(ok);
    const batch = [...msgs('b'), new FakeMsg('telephony.call.cdr', new TextEncoder().encode('{'), 99), ...msgs('a')];
    const outcome = await processor.process(batch as unknown as JsMsg[]);
    expect(outcome).toEqual({ acked: 6, terminated: 1, nacked: 0, databaseDown: false });
    expect(batch.map((m) => m.settled)).toEqual([['ack'], ['ack'], ['ack'], ['term'], ['ack'], ['ack'], ['ack']]);
    // One transaction, calls in call_id order, each call's events in stream order.
    expect(calls).toEqual([['a#1', 'a#2', 'a#3', 'b#1', 'b#2', 'b#3']]);
  });

  it('isolates a failing event: the others are acked, it is retried later, then dropped', async () => {
    const failing = async (events: CallEvent[]) => {
      if (events.some((e) => e.callId === 'bad' && e.seq === 2)) throw new Error('check constraint violated');
      return ok(events);
    };
    const first = processorWith(failing);
    const batch = [...msgs('good'), ...msgs('bad')];
    expect(await first.processor.process(batch as unknown as JsMsg[])).toEqual({ acked: 5, terminated: 0, nacked: 1, databaseDown: false });
    expect(batch.map((m) => m.settled.join())).toEqual(['ack', 'ack', 'ack', 'ack', `nak ${retryDelay(1)}`, 'ack']);

    const last = processorWith(failing);
    const redelivered = msgs('bad', 3);
    expect(await last.processor.process(redelivered as unknown as JsMsg[])).toMatchObject({ acked: 2, terminated: 1 });
    expect(redelivered.map((m) => m.settled.join())).toEqual(['ack', 'term', 'ack']);
  });

  it('hands everything back without using up attempts when the database is down', async () => {
    const down = Object.assign(new Error("Can't reach database server"), { code: 'P1001' });
    const { processor, calls } = processorWith(async () => Promise.reject(down));
    const batch = msgs('x', 7);
    expect(await processor.process(batch as unknown as JsMsg[])).toEqual({ acked: 0, terminated: 0, nacked: 3, databaseDown: true });
    expect(batch.map((m) => m.settled.join())).toEqual(Array(3).fill(`nak ${retryDelay(1)}`));
    expect(calls).toHaveLength(1);
  });

  it('retries a deadlock in place', async () => {
    let attempts = 0;
    const { processor } = processorWith(async (events) => {
      if (attempts++ === 0) throw Object.assign(new Error('deadlock detected'), { code: 'P2034' });
      return ok(events);
    });
    const batch = msgs('d');
    expect(await processor.process(batch as unknown as JsMsg[])).toMatchObject({ acked: 3, nacked: 0 });
    expect(attempts).toBe(2);
  });

  it('grows the retry delay with the attempt number', () => {
    expect([1, 2, 3, 6, 50].map(retryDelay)).toEqual([1000, 2000, 5000, 60_000, 60_000]);
  });
});
