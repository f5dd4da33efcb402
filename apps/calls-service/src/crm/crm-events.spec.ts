import { randomUUID } from 'node:crypto';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { CRM_EVENTS_STREAM, CrmEvent } from '@ringcloud/contracts-events';
import { CallsCallGet } from '@ringcloud/contracts-calls';
import { CallSpec, answeredCall, callEvents, newCallId, publishAll } from '../testing/call-events';
import { TestEnv, eventually, sleep } from '../testing/fixture';
import { OriginateRepository } from '../originate/originate.repository';
import { AnnounceNow } from './announce-now';

const A = 1001;
const B = 1002;
const IVAN = '1679728441';

/** The real service, fed telephony events, publishing CRM events to CRM_EVENTS through its outbox. */
describe('CRM call events (JetStream + PostgreSQL)', () => {
  let env: TestEnv;

  beforeAll(async () => {
    env = await TestEnv.start();
    await env.ensureStream();
  });
  afterAll(() => env?.stop());

  /** Every CRM event in the stream (an ordered consumer from the start). */
  async function crmEvents(): Promise<CrmEvent[]> {
    const jsm = await jetstreamManager(env.nc);
    const total = await jsm.streams
      .info(CRM_EVENTS_STREAM.name)
      .then((i) => i.state.messages)
      .catch(() => 0);
    if (!total) return [];
    const consumer = await jetstream(env.nc).consumers.get(CRM_EVENTS_STREAM.name, { deliver_policy: DeliverPolicy.All });
    const out: CrmEvent[] = [];
    for await (const m of await consumer.fetch({ max_messages: total, expires: 2000 })) {
      expect(m.subject).toBe(`crm.events.${(m.json() as CrmEvent).account_id}`);
      out.push(CrmEvent.parse(m.json()));
      if (out.length === total) break;
    }
    return out;
  }
  const ofCall = async (callId: string) => (await crmEvents()).filter((e) => e.data.call_id === callId).sort((a, b) => Number(a.data.sequence) - Number(b.data.sequence));
  const summary = (events: CrmEvent[]) => events.map((e) => [e.data.sequence, e.type, e.data.party ?? e.data.state ?? null]);

  const ago = (s: number) => new Date(Date.now() - s * 1000);
  const call = (over: Partial<CallSpec>): CallSpec => answeredCall({ account: A, user: IVAN, ringing: ['user', 'customer'], ...over });
  /** An originate request as POST /v1/calls stores it (the call's id is its UUID). */
  async function originated(spec: CallSpec, externalId: string | null): Promise<void> {
    await env.prisma.originateRequest.create({
      data: { callId: spec.callId, accountId: spec.account!, userName: spec.user!, src: spec.src, num: spec.dst, externalId, status: 'queued', createdAt: spec.start },
    });
  }

  describe('one replica', () => {
    let app: Awaited<ReturnType<TestEnv['startApp']>> | undefined;
    beforeAll(async () => {
      app = await env.startApp();
    });
    afterAll(async () => {
      if (app) await env.stopApp(app);
    });

    it('an answered originate: started, ringing user, ringing customer, answered, completed, recording.ready — with the external id', async () => {
      const spec = call({ callId: randomUUID(), recording: { fileName: 'crm-answered.wav' } });
      await originated(spec, 'deal-42/ü?'.replace('ü', 'u'));
      await publishAll(env.js, callEvents(spec, env.clock));
      const events = await eventually(async () => {
        const got = await ofCall(spec.callId);
        return got.length === 6 && got;
      });
      expect(summary(events)).toEqual([
        [0, 'call.started', 'queued'],
        [1, 'call.ringing', 'user'],
        [2, 'call.ringing', 'customer'],
        [3, 'call.answered', 'answered'],
        [4, 'call.completed', 'completed'],
        [5, 'recording.ready', null],
      ]);
      for (const e of events.slice(0, 4)) expect(e.data).toMatchObject({ call_id: spec.callId, external_id: 'deal-42/u?', direction: 'outgoing', src: '401', dst: '79101234567', user: IVAN });
      expect(events[4].data).toMatchObject({ status: 'complete', disposition: 'ANSWERED', duration: 65, external_id: 'deal-42/u?', rec_file: `/v1/users/${IVAN}/records/crm-answered.wav` });
      expect(events[5].data).toEqual({ call_id: spec.callId, sequence: 5, user: IVAN, rec_file: `/v1/users/${IVAN}/records/crm-answered.wav` });
      expect(events.every((e) => e.account_id === A)).toBe(true);

      // The call by id, as GET /v1/calls/<call_id> shows it; another account's key sees nothing.
      expect(await env.rpc.send(CallsCallGet.contract, { account_id: A, call_id: spec.callId })).toMatchObject({
        state: 'completed',
        external_id: 'deal-42/u?',
        disposition: 'ANSWERED',
        rec_file: `/v1/users/${IVAN}/records/crm-answered.wav`,
      });
      await expect(env.rpc.send(CallsCallGet.contract, { account_id: B, call_id: spec.callId })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });

    it('an originate whose first events come before its request is stored: held, then announced with the external id by the originate', async () => {
      const spec = call({ callId: randomUUID(), start: ago(1) });
      // The call is ringing: its started and ringing events only.
      await publishAll(env.js, callEvents(spec, env.clock).filter((e) => /\.(started|ringing)$/.test(e.subject)));
      await eventually(async () => (await env.prisma.call.count({ where: { callId: spec.callId, src: { not: null } } })) === 1);
      await eventually(() => env.consumerSettled());
      await sleep(300);
      expect(await ofCall(spec.callId)).toEqual([]);
      // What OriginateService does: the request stored, and what its events made due announced, at once.
      const announceNow = app!.get(AnnounceNow);
      const store = (externalId: string) =>
        announceNow.afterChange([spec.callId], (tx) => app!.get(OriginateRepository).create(tx, { callId: spec.callId, accountId: A, userName: IVAN, num: spec.dst, externalId, outcome: { status: 'queued', actionId: 'rc-1', src: '401' } }));
      expect(await store('lead-7')).toBe(3);
      const events = await eventually(async () => {
        const got = await ofCall(spec.callId);
        return got.length === 3 && got;
      });
      expect(summary(events)).toEqual([
        [0, 'call.started', 'queued'],
        [1, 'call.ringing', 'user'],
        [2, 'call.ringing', 'customer'],
      ]);
      for (const e of events) expect(e.data.external_id).toBe('lead-7');
      expect(await announceNow.calls([spec.callId])).toBe(0);
      // A request stored before its call's events has nothing to announce (and does not look).
      const other = call({ callId: randomUUID(), start: ago(1) });
      expect(await announceNow.afterChange([other.callId], (tx) => app!.get(OriginateRepository).create(tx, { callId: other.callId, accountId: A, userName: IVAN, num: other.dst, externalId: null, outcome: { status: 'queued', actionId: 'rc-2', src: '401' } }))).toBe(0);
    });

    it.each([
      ['busy', 'BUSY', 17, 'User busy', 'completed'],
      ['no answer', 'NO ANSWER', 19, 'No answer', 'completed'],
      ['failed', 'FAILED', 34, 'Circuit/channel congestion', 'failed'],
    ] as const)('a %s call: no answered, no recording (its file has no audio), completed with the disposition', async (_n, disposition, cause, causeTxt, state) => {
      const spec = call({ answer: null, disposition, cause, causeTxt, ringing: ['user', 'customer'], recording: { fileName: `crm-${cause}.wav`, durationS: 0 } });
      await publishAll(env.js, callEvents(spec, env.clock));
      await eventually(async () => (await env.prisma.recording.count({ where: { callId: spec.callId } })) === 1);
      const events = await eventually(async () => {
        const got = await ofCall(spec.callId);
        return got.length === 4 && got;
      });
      await sleep(300);
      expect(summary(await ofCall(spec.callId))).toEqual([
        [0, 'call.started', 'queued'],
        [1, 'call.ringing', 'user'],
        [2, 'call.ringing', 'customer'],
        [3, 'call.completed', state],
      ]);
      expect(events[3].data).toMatchObject({ disposition, rec_file: null, ...(state === 'failed' ? { reason: causeTxt } : {}) });
    });

    it('inbound and internal calls get events under their PBX ids; a call without an account gets none', async () => {
      const inbound = call({ callId: newCallId(), direction: 'incoming', src: '79161234567', dst: '401', ringing: ['user'] });
      const orphan = call({ account: null, direction: 'incoming', src: '74950001122', dst: '900', answer: null, disposition: 'FAILED', ringing: [] });
      await publishAll(env.js, [...callEvents(inbound, env.clock), ...callEvents(orphan, env.clock)]);
      const events = await eventually(async () => {
        const got = await ofCall(inbound.callId);
        return got.length === 4 && got;
      });
      expect(summary(events)).toEqual([
        [0, 'call.started', 'queued'],
        [1, 'call.ringing', 'user'],
        [2, 'call.answered', 'answered'],
        [3, 'call.completed', 'completed'],
      ]);
      expect(events[0].data).toMatchObject({ direction: 'incoming', src: '79161234567', dst: '401', external_id: null });
      expect(await ofCall(orphan.callId)).toEqual([]);
    });

    it('waits for a telephony event still on its way (a hole in the seqs) rather than skip its stage', async () => {
      const spec = call({});
      const events = callEvents(spec, env.clock);
      const ringing = events.filter((e) => e.subject === 'telephony.call.ringing');
      await publishAll(env.js, events.filter((e) => !ringing.includes(e)));
      await eventually(() => env.consumerSettled());
      await sleep(500);
      expect(await ofCall(spec.callId)).toEqual([]);
      await publishAll(env.js, ringing); // as a redelivery after ack_wait would bring them
      const got = await eventually(async () => {
        const all = await ofCall(spec.callId);
        return all.length === 5 && all;
      });
      expect(summary(got).map(([n, t]) => [n, t])).toEqual([
        [0, 'call.started'],
        [1, 'call.ringing'],
        [2, 'call.ringing'],
        [3, 'call.answered'],
        [4, 'call.completed'],
      ]);
    });

    it('a redelivered or re-published telephony event announces nothing twice', async () => {
      const spec = call({});
      const events = callEvents(spec, env.clock);
      await publishAll(env.js, events);
      await eventually(async () => (await ofCall(spec.callId)).length === 5);
      await publishAll(env.js, events, '-again'); // new msgIDs: JetStream keeps them, the service must not repeat
      await eventually(() => env.consumerSettled());
      await sleep(500);
      expect((await ofCall(spec.callId)).map((e) => e.data.sequence)).toEqual([0, 1, 2, 3, 4]);
    });
  });

  it('a call whose CDR never comes is completed once the grace period has passed', async () => {
    const app = await env.startApp({ cdrGraceMs: 1500 });
    try {
      const spec = call({ start: ago(2), answer: ago(1), end: new Date() });
      const withoutCdr = callEvents(spec, env.clock).filter((e) => e.subject !== 'telephony.call.cdr');
      await publishAll(env.js, withoutCdr);
      await eventually(async () => (await ofCall(spec.callId)).length === 4);
      expect((await ofCall(spec.callId)).map((e) => e.type)).not.toContain('call.completed');
      const events = await eventually(async () => {
        const got = await ofCall(spec.callId);
        return got.length === 5 && got;
      });
      expect(events[4]).toMatchObject({ type: 'call.completed', data: { sequence: 4, disposition: 'ANSWERED', state: 'completed' } });
    } finally {
      await env.stopApp(app);
    }
  });

  it('loses and repeats nothing when the service is stopped and started again mid-stream', async () => {
    const specs = Array.from({ length: 30 }, (_, i) => call({ dst: `7920100${String(i).padStart(4, '0')}`, recording: { fileName: `crm-restart-${i}.wav` } }));
    let app = await env.startApp();
    const all = specs.flatMap((s) => callEvents(s, env.clock));
    await publishAll(env.js, all.slice(0, 70));
    await eventually(async () => (await env.prisma.call.count({ where: { callId: { in: specs.map((s) => s.callId) } } })) > 0);
    await env.stopApp(app);
    await publishAll(env.js, all.slice(70));
    app = await env.startApp();
    try {
      await eventually(async () => {
        const got = (await crmEvents()).filter((e) => specs.some((s) => s.callId === e.data.call_id));
        return got.length >= 30 * 6;
      }, 30_000);
      await sleep(500);
      const got = (await crmEvents()).filter((e) => specs.some((s) => s.callId === e.data.call_id));
      expect(got).toHaveLength(30 * 6);
      expect(new Set(got.map((e) => e.id)).size).toBe(got.length);
      for (const spec of specs) {
        const mine = got.filter((e) => e.data.call_id === spec.callId);
        expect(mine.map((e) => e.data.sequence).sort((a, b) => Number(a) - Number(b))).toEqual([0, 1, 2, 3, 4, 5]);
      }
    } finally {
      await env.stopApp(app);
    }
  });
});
