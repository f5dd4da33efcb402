import { randomUUID } from 'node:crypto';
import { CallEnded, CallTransferred } from '@ringcloud/contracts-telephony';
import { callEvents, Published } from '../testing/call-events';
import { TestSchema, createTestSchema } from '../testing/test-database';
import { PrismaClient, createPrismaClient } from '../infra/database';
import { PbxClock } from '../time/pbx-clock';
import { CallEvent, parseCallEvent } from './call-event';
import { CallEventsRepository, rounds } from './call-events.repository';
import { ProcessedEventsPruner } from './processed-events.pruner';
import { NoopOutboxSignal, OutboxStore } from '@ringcloud/nest-outbox';
import { CallsRepository } from '../calls/calls.repository';
import { CrmAnnouncer } from '../crm/crm-announcer';

describe('rounds', () => {
  it('keeps batch order and never repeats a key within a round', () => {
    expect(rounds(['a1', 'b1', 'a2', 'a3', 'c1', 'b2'], (s) => s[0])).toEqual([['a1', 'b1', 'c1'], ['a2', 'b2'], ['a3']]);
    expect(rounds([], (s: string) => s)).toEqual([]);
  });
});

describe('CallEventsRepository (PostgreSQL)', () => {
  const clock = new PbxClock('Europe/Moscow');
  let schema: TestSchema;
  let prisma: PrismaClient;
  let repository: CallEventsRepository;

  beforeAll(async () => {
    schema = await createTestSchema();
    prisma = createPrismaClient(schema.databaseUrl, 4);
    const announcer = new CrmAnnouncer(new CallsRepository(prisma), new OutboxStore(prisma), clock, { cdrGraceMs: 10_000, consumer: { ackWaitMs: 30_000 } as never });
    repository = new CallEventsRepository(prisma, announcer, new NoopOutboxSignal());
  });
  afterAll(async () => {
    await prisma?.$disconnect();
    await schema?.drop();
  });

  const decode = (events: Published[], callId: string): CallEvent[] =>
    events.map((e) => {
      const payload = { ...e.payload, call_id: callId, event_id: randomUUID() };
      const parsed = parseCallEvent(e.subject, new TextEncoder().encode(JSON.stringify(payload)), clock, new Date());
      if (!parsed.ok) throw new Error(parsed.reason);
      return parsed.event;
    });

  const start = new Date('2026-11-20T09:00:00Z');
  const template = callEvents(
    {
      callId: 'template',
      account: 1001,
      user: '1679728441',
      src: '401',
      dst: '79101234567',
      direction: 'outgoing',
      start,
      answer: new Date(start.getTime() + 7000),
      end: new Date(start.getTime() + 67_000),
      disposition: 'ANSWERED',
      recording: { fileName: 'perm.wav', user: null },
    },
    clock,
  );
  // The adapter's resync also found the call gone, a little later than the real hangup.
  template.push({
    subject: CallEnded.subject,
    payload: { ...template[3].payload, seq: 7, occurred_at: new Date(start.getTime() + 90_000).toISOString(), cause: 0, reconciled: true },
  });

  const spec777 = {
    account: 1001,
    user: '1679728441',
    src: '401',
    dst: '777',
    direction: 'internal' as const,
    start,
    answer: new Date(start.getTime() + 7000),
    end: new Date(start.getTime() + 20_000),
    disposition: 'ANSWERED' as const,
    ringing: ['user' as const],
  };

  const stateOf = async (callId: string) => {
    const row = await prisma.call.findUniqueOrThrow({ where: { callId } });
    const recordings = await prisma.recording.findMany({ where: { callId } });
    // What the CRM was told depends on the order facts arrived in (a stage that arrives late is skipped): not compared here.
    const { callId: _id, createdAt: _c, updatedAt: _u, linkedid: _l, cdrUniqueid: _q, crmAnnounced: _a, crmNextSeq: _n, ...fields } = row;
    // Reads file a recording without a user under its call's user: compare what reads see.
    return {
      fields,
      recordings: recordings.map(({ eventId: _e, createdAt: _rc, fileName: _f, callId: _rid, objectName: _o, ...r }) => ({ ...r, userName: r.userName ?? row.userName })),
    };
  };

  function* permutations<T>(items: T[]): Generator<T[]> {
    if (items.length <= 1) return yield items;
    for (let i = 0; i < items.length; i++) {
      for (const rest of permutations([...items.slice(0, i), ...items.slice(i + 1)])) yield [items[i], ...rest];
    }
  }

  it('reaches the same record from every arrival order, whatever the batching', async () => {
    const reference = `ref-${randomUUID()}`;
    await repository.applyBatch(decode(template, reference));
    const expected = await stateOf(reference);
    expect(expected.fields).toMatchObject({
      accountId: 1001,
      direction: 'outgoing',
      src: '401',
      dst: '79101234567',
      userName: '1679728441',
      startedAt: start,
      endedAt: new Date(start.getTime() + 67_000),
      duration: 67,
      billsec: 60,
      disposition: 'ANSWERED',
      state: 'complete',
      cdrSeq: 5,
      endCause: 16,
      reconciled: false,
    });
    // The recording named no user: it is filed under the call's.
    expect(expected.recordings).toEqual([expect.objectContaining({ accountId: 1001, userName: '1679728441' })]);

    // 7 events: 5040 orders; every 7th is checked (720, all starting positions covered).
    let n = 0;
    let checked = 0;
    for (const order of permutations(template)) {
      if (n++ % 7) continue;
      checked++;
      const callId = `perm-${n}-${randomUUID()}`;
      const events = decode(order, callId).map((e) => (e.type === 'recording' ? { ...e, fileName: `perm-${n}.wav` } : e));
      // Alternate between one transaction per event, and two batches split at a varying point.
      if (n % 2) for (const e of events) await repository.applyBatch([e]);
      else {
        const cut = n % events.length;
        await repository.applyBatch(events.slice(0, cut));
        await repository.applyBatch(events.slice(cut));
      }
      expect({ n, ...(await stateOf(callId)) }).toEqual({ n, ...expected });
    }
    expect(checked).toBe(720);
  }, 180_000);

  it('applies each (call_id, seq) once, even twice in one batch, and flags a reused seq', async () => {
    const callId = `dup-${randomUUID()}`;
    const events = decode(template.slice(0, 5), callId);
    const first = await repository.applyBatch(events);
    expect(first).toMatchObject({ applied: 5, duplicates: 0, seqReused: [] });
    const before = await stateOf(callId);

    const again = await repository.applyBatch([...events, ...events]);
    expect(again).toMatchObject({ applied: 0, duplicates: 10, seqReused: [] });
    expect(await stateOf(callId)).toEqual(before);

    // A different event under an already used (call_id, seq): not applied, reported.
    const reused = { ...events[4], eventId: randomUUID(), disposition: 'BUSY' as const };
    const result = await repository.applyBatch([reused]);
    expect(result).toMatchObject({ applied: 0, duplicates: 1, seqReused: [reused] });
    expect((await stateOf(callId)).fields.disposition).toBe('ANSWERED');
  });

  it('merges a second CDR of the same call: first names the parties, times widen, ANSWERED wins', async () => {
    const callId = `twocdr-${randomUUID()}`;
    const events = decode(template.slice(0, 5), callId);
    const cdr = events[4] as Extract<CallEvent, { type: 'cdr' }>;
    const second = { ...cdr, eventId: randomUUID(), seq: 9, src: '401', dst: '401', disposition: 'NO ANSWER' as const, endedAt: new Date(cdr.endedAt.getTime() + 2000), duration: 69 };
    await repository.applyBatch([second, ...events]);
    expect((await stateOf(callId)).fields).toMatchObject({ dst: '79101234567', disposition: 'ANSWERED', duration: 69, cdrSeq: 5, endedAt: second.endedAt });
  });

  it("takes a ringing event's direction (the route the dial plan took) over the started guess, until the CDR settles it", async () => {
    const callId = `route-${randomUUID()}`;
    // POST /v1/calls to 777: started guessed internal from the number; the customer rang through the trunk.
    const [started, ...rest] = decode(callEvents({ ...spec777, callId: 'x' }, clock), callId);
    const ringingUser = rest.find((e) => e.type === 'ringing')!;
    await repository.applyBatch([started, { ...ringingUser, direction: 'internal' } as CallEvent]);
    expect((await stateOf(callId)).fields.direction).toBe('internal');
    const customer = { ...ringingUser, eventId: randomUUID(), seq: 50, party: 'customer', direction: 'outgoing' } as CallEvent;
    await repository.applyBatch([customer]);
    expect((await stateOf(callId)).fields.direction).toBe('outgoing');
    // An adapter from before ringing carried a direction changes nothing.
    await repository.applyBatch([{ ...customer, eventId: randomUUID(), seq: 51, direction: null } as CallEvent]);
    expect((await stateOf(callId)).fields.direction).toBe('outgoing');
    // The CDR has the last word.
    const cdr = rest.find((e) => e.type === 'cdr')!;
    await repository.applyBatch([{ ...cdr, direction: 'internal' } as CallEvent, { ...customer, eventId: randomUUID(), seq: 52 } as CallEvent]);
    expect((await stateOf(callId)).fields).toMatchObject({ direction: 'internal', state: 'complete' });
  });

  it("takes a ringing event's called number (an incoming call's extension that rings, not the number dialled) until the CDR settles it", async () => {
    const callId = `did-${randomUUID()}`;
    const [started, ...rest] = decode(callEvents({ ...spec777, callId: 'x', direction: 'incoming', src: '79161234567', dst: '74951230901' }, clock), callId);
    const ringingUser = rest.find((e) => e.type === 'ringing')!;
    await repository.applyBatch([started]);
    expect((await stateOf(callId)).fields.dst).toBe('74951230901');
    await repository.applyBatch([{ ...ringingUser, dst: '901' } as CallEvent]);
    expect((await stateOf(callId)).fields.dst).toBe('901');
    // An adapter from before ringing carried the number changes nothing.
    await repository.applyBatch([{ ...ringingUser, eventId: randomUUID(), seq: 60, dst: null } as CallEvent]);
    expect((await stateOf(callId)).fields.dst).toBe('901');
    // The CDR has the last word.
    const cdr = rest.find((e) => e.type === 'cdr')!;
    await repository.applyBatch([{ ...cdr, dst: '902' } as CallEvent, { ...ringingUser, eventId: randomUUID(), seq: 61, dst: '903' } as CallEvent]);
    expect((await stateOf(callId)).fields.dst).toBe('902');
  });

  it('keeps the latest transfer of a call whatever the order they arrive in; the record stays the call it was', async () => {
    const callId = `transfer-${randomUUID()}`;
    const events = decode(template.slice(0, 5), callId);
    const transfer = (seq: number, afterMs: number, toUser: string | null, to: string): CallEvent => {
      const payload = { event_id: randomUUID(), call_id: callId, seq, node: 'pbx1', occurred_at: new Date(start.getTime() + afterMs).toISOString(), account_id: 1001, kind: 'blind', by_user: '1679728441', to, to_user: toUser };
      const parsed = parseCallEvent(CallTransferred.subject, new TextEncoder().encode(JSON.stringify(payload)), clock, new Date());
      if (!parsed.ok) throw new Error(parsed.reason);
      return parsed.event;
    };
    // To 402, then 402 sent it on to 403: the second arrives first.
    await repository.applyBatch([transfer(21, 40_000, '7555374229', '403'), ...events]);
    await repository.applyBatch([transfer(20, 20_000, '7555374228', '402')]);
    expect((await stateOf(callId)).fields).toMatchObject({
      transferredTo: '7555374229',
      transferredToNum: '403',
      transferredAt: new Date(start.getTime() + 40_000),
      userName: '1679728441',
      dst: '79101234567',
      state: 'complete',
    });
    // A transfer to an extension that is no user's: the extension alone.
    const other = `transfer-${randomUUID()}`;
    await repository.applyBatch([{ ...transfer(3, 5000, null, '499'), callId: other }]);
    expect((await stateOf(other)).fields).toMatchObject({ transferredTo: null, transferredToNum: '499' });
  });

  it('refuses a transfer event whose extension or user could not be stored as they are', () => {
    const payload = { event_id: 'e', call_id: 'c', seq: 1, node: 'pbx1', occurred_at: start.toISOString(), account_id: 1001, kind: 'attended', by_user: null };
    const parse = (extra: object) => parseCallEvent(CallTransferred.subject, new TextEncoder().encode(JSON.stringify({ ...payload, ...extra })), clock, new Date());
    expect(parse({ to: '902', to_user: '7555374228' }).ok).toBe(true);
    expect(parse({ to: '9'.repeat(41), to_user: null }).ok).toBe(false);
    expect(parse({ to: '902', to_user: 'x'.repeat(65) }).ok).toBe(false);
    expect(parse({ to: '902', to_user: '7555374228', kind: 'sideways' }).ok).toBe(false);
  });

  it('files an incoming call under the user whose phone rang, and keeps a user the call already has', async () => {
    const callId = `incoming-${randomUUID()}`;
    const [started, ...rest] = decode(callEvents({ ...spec777, callId: 'x', direction: 'incoming', src: '79161112233', dst: '401', user: null as unknown as string }, clock), callId);
    const ringing = rest.find((e) => e.type === 'ringing')!;
    await repository.applyBatch([started]);
    expect((await stateOf(callId)).fields.userName).toBeNull();
    await repository.applyBatch([{ ...ringing, user: '1679728441' } as CallEvent]);
    expect((await stateOf(callId)).fields.userName).toBe('1679728441');
    await repository.applyBatch([{ ...ringing, eventId: randomUUID(), seq: 60, user: '9999999999' } as CallEvent]);
    expect((await stateOf(callId)).fields.userName).toBe('1679728441');
  });

  it('ignores a recording no account can be found for, and files it when the call knows the account', async () => {
    const orphan = decode([template[5]], `orphan-${randomUUID()}`).map((e) => ({ ...e, accountId: null, fileName: 'orphan.wav' }));
    const result = await repository.applyBatch(orphan);
    expect(result.ignored).toEqual([{ event: orphan[0], reason: 'recording of a call whose account is unknown' }]);
    expect(await prisma.recording.count({ where: { fileName: 'orphan.wav' } })).toBe(0);

    const callId = `known-${randomUUID()}`;
    const known = decode([template[0], template[5]], callId).map((e) => (e.type === 'recording' ? { ...e, accountId: null, fileName: 'known.wav' } : e));
    expect((await repository.applyBatch(known)).ignored).toEqual([]);
    expect(await prisma.recording.findUniqueOrThrow({ where: { accountId_fileName: { accountId: 1001, fileName: 'known.wav' } } })).toMatchObject({ callId, userName: '1679728441' });
  });

  it('forgets processed events older than the retention, and only those', async () => {
    const old = new Date(Date.now() - 9 * 86_400_000);
    await prisma.processedEvent.createMany({
      data: [
        { callId: 'prune-old', seq: 1, eventId: randomUUID(), processedAt: old },
        { callId: 'prune-old', seq: 2, eventId: randomUUID(), processedAt: old },
        { callId: 'prune-new', seq: 1, eventId: randomUUID() },
      ],
    });
    expect(await new ProcessedEventsPruner(prisma).prune(8 * 86_400_000)).toBe(2);
    expect((await prisma.processedEvent.findMany({ where: { callId: { startsWith: 'prune-' } } })).map((r) => r.callId)).toEqual(['prune-new']);
  });
});
