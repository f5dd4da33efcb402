import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { TELEPHONY_EVENTS_STREAM } from '@ringcloud/contracts-telephony';
import { ensureStream } from '@ringcloud/nest-nats';
import { TestEnv, eventually } from '../testing/test-env';
import { EVENT_CONTRACTS, TelephonyDomainEvent } from './domain-events';
import { EventSpill, TelephonyEventPublisher } from './event-publisher';
import { Logs } from '../testing/logs';

/** Real JetStream (a private nats-server); the spill is the interface's simplest keeper (EventOutbox is tested with PostgreSQL in app.spec). */
const ended = (n: number): TelephonyDomainEvent => ({
  kind: 'ended',
  payload: {
    event_id: `pbx1:1795800000.${n}:ended`,
    call_id: `pbx1:1795800000.${n}`,
    seq: 3,
    node: 'pbx1',
    occurred_at: new Date().toISOString(),
    account_id: 1001,
    cause: 16,
    cause_txt: 'Normal Clearing',
    reconciled: false,
  },
});

const EVENT_SUBJECT = EVENT_CONTRACTS.ended.subject;

class KeptEvents implements EventSpill {
  kept: TelephonyDomainEvent[][] = [];
  failing = false;
  async keep(events: readonly TelephonyDomainEvent[]): Promise<void> {
    if (this.failing) throw new Error('database down');
    this.kept.push([...events]);
  }
  ids = () => this.kept.flat().map((e) => e.payload.event_id);
}

describe('TelephonyEventPublisher', () => {
  let env: TestEnv;
  let logs: Logs;
  let spill: KeptEvents;

  beforeAll(async () => {
    env = await TestEnv.start({ database: false });
  });
  afterAll(async () => env?.stop());
  beforeEach(async () => {
    logs = new Logs();
    spill = new KeptEvents();
    await ensureStream(env.nc, TELEPHONY_EVENTS_STREAM);
  });

  /** NATS without the stream: every publish fails and is retried, as while JetStream is away. */
  const withoutStream = async () => (await jetstreamManager(env.nc)).streams.delete(TELEPHONY_EVENTS_STREAM.name);
  /** A responder that never answers the event's subject: a publish waits its whole 5 s timeout, as with NATS gone. */
  const silentResponder = () => {
    const sub = env.nc.subscribe(EVENT_SUBJECT);
    const received = (async () => {
      for await (const _ of sub) return true;
      return false;
    })();
    return { received, unsubscribe: () => sub.unsubscribe() };
  };
  const streamed = async () => (await env.streamMessages(TELEPHONY_EVENTS_STREAM.name)).map((m) => m.data.event_id);

  it('publishes in order with msgID = event_id, and confirms what JetStream stored', async () => {
    const publisher = new TelephonyEventPublisher(jetstream(env.nc), logs, { spill });
    publisher.publish(ended(1));
    expect(await publisher.publishConfirmed(ended(2))).toBe(true);
    expect(publisher.failing).toBe(false);
    expect((await env.streamMessages(TELEPHONY_EVENTS_STREAM.name)).slice(-2).map((m) => [m.msgId, m.data.event_id])).toEqual([
      [ended(1).payload.event_id, ended(1).payload.event_id],
      [ended(2).payload.event_id, ended(2).payload.event_id],
    ]);
    await publisher.stop();
    expect(spill.kept).toEqual([]);
  });

  it('hands what NATS did not take by stop() to the spill, in order, and tells whoever waits that it is safe', async () => {
    await withoutStream();
    const publisher = new TelephonyEventPublisher(jetstream(env.nc), logs, { spill, retryMinMs: 20, retryMaxMs: 50 });
    publisher.publish(ended(3));
    publisher.publish(ended(4));
    const confirmed = publisher.publishConfirmed(ended(5));
    await eventually(() => logs.lines.some((l) => l.startsWith('warn publishing telephony events failed')));
    expect(publisher.failing).toBe(true);
    await publisher.stop();
    expect(await confirmed).toBe(true);
    expect(spill.ids()).toEqual([3, 4, 5].map((n) => ended(n).payload.event_id));
    expect(logs.lines).toContainEqual('warn 3 telephony events not published before shutdown: kept in the outbox, published from there');
    // Events that come after stop() (a recording finishing) go straight to the spill.
    expect(await publisher.publishConfirmed(ended(6))).toBe(true);
    expect(spill.ids()).toContain(ended(6).payload.event_id);
    expect(await streamed()).toEqual([]);
  });

  it('stops without waiting out its retry backoff', async () => {
    await withoutStream();
    const publisher = new TelephonyEventPublisher(jetstream(env.nc), logs, { spill, retryMinMs: 30_000, retryMaxMs: 30_000 });
    publisher.publish(ended(7));
    await eventually(() => logs.lines.some((l) => l.startsWith('warn publishing telephony events failed')));
    const stopped = await Promise.race([publisher.stop().then(() => 'stopped'), new Promise((r) => setTimeout(() => r('still waiting'), 10_000).unref())]);
    expect(stopped).toBe('stopped');
    expect(spill.ids()).toEqual([ended(7).payload.event_id]);
  });

  it('with NATS away, stops without waiting for the attempt in flight (it would only time out), and spills its event too', async () => {
    await withoutStream();
    const silent = silentResponder();
    try {
      const publisher = new TelephonyEventPublisher(jetstream(env.nc), logs, { spill });
      publisher.publish(ended(11));
      publisher.publish(ended(12));
      expect(await silent.received).toBe(true); // the attempt is in flight
      const started = Date.now();
      await publisher.stop({ natsAway: true });
      expect(Date.now() - started).toBeLessThan(2500);
      expect(spill.ids()).toEqual([11, 12].map((n) => ended(n).payload.event_id));
    } finally {
      silent.unsubscribe();
    }
  });

  it('a stop that waits for the attempt in flight does not then wait out a backoff', async () => {
    await withoutStream();
    const silent = silentResponder();
    try {
      const publisher = new TelephonyEventPublisher(jetstream(env.nc), logs, { spill, retryMinMs: 30_000, retryMaxMs: 30_000 });
      publisher.publish(ended(13));
      expect(await silent.received).toBe(true);
      const started = Date.now();
      await publisher.stop();
      // The attempt's 5 s timeout, not the 30 s backoff after it.
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(spill.ids()).toEqual([ended(13).payload.event_id]);
    } finally {
      silent.unsubscribe();
    }
  }, 20_000);

  it('sends what overflows its queue to the spill instead of dropping it, and queues again once there is room', async () => {
    await withoutStream();
    const publisher = new TelephonyEventPublisher(jetstream(env.nc), logs, { spill, maxQueue: 2, retryMinMs: 20, retryMaxMs: 50 });
    publisher.publish(ended(8));
    publisher.publish(ended(9));
    expect(await publisher.publishConfirmed(ended(10))).toBe(true);
    publisher.publish(ended(11));
    await eventually(() => spill.ids().length === 2);
    expect(spill.ids()).toEqual([ended(10).payload.event_id, ended(11).payload.event_id]);
    expect(logs.lines.filter((l) => l.startsWith('error telephony event queue full'))).toHaveLength(1); // once per overflow
    expect(publisher.pending).toBe(2);

    await ensureStream(env.nc, TELEPHONY_EVENTS_STREAM);
    await eventually(() => publisher.pending === 0, 10_000);
    publisher.publish(ended(12));
    await eventually(() => publisher.pending === 0, 10_000);
    expect(await streamed()).toEqual([8, 9, 12].map((n) => ended(n).payload.event_id));
    await publisher.stop();
  });

  it('says what it lost when the spill fails too, and tells whoever waits', async () => {
    await withoutStream();
    spill.failing = true;
    const publisher = new TelephonyEventPublisher(jetstream(env.nc), logs, { spill, retryMinMs: 20, retryMaxMs: 50 });
    const confirmed = publisher.publishConfirmed(ended(13));
    await eventually(() => logs.lines.some((l) => l.startsWith('warn publishing telephony events failed')));
    await publisher.stop();
    expect(await confirmed).toBe(false);
    expect(logs.lines).toContainEqual(`error 1 telephony events lost (not published before shutdown; keeping them failed: database down): ended ${ended(13).payload.event_id}`);
  });

  it('without a spill, loses what is left at stop() and says so', async () => {
    await withoutStream();
    const publisher = new TelephonyEventPublisher(jetstream(env.nc), logs, { retryMinMs: 20, retryMaxMs: 50 });
    const confirmed = publisher.publishConfirmed(ended(14));
    await eventually(() => logs.lines.some((l) => l.startsWith('warn publishing telephony events failed')));
    await publisher.stop();
    expect(await confirmed).toBe(false);
    expect(logs.lines).toContainEqual(expect.stringMatching(/^error 1 telephony events lost \(not published before shutdown, nowhere to keep them\)/));
  });
});
