import { INestMicroservice } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DomainError } from '@ringcloud/contracts-common';
import {
  CallsActiveList,
  CallsCallGet,
  CallsCompleteList,
  CallsCompletePage,
  CallsHealthPing,
  CallsOpenOnNode,
  CallsOriginate,
  CallsOriginateRecord,
  CallsRecordingGet,
  CallsRecordingList,
} from '@ringcloud/contracts-calls';
import { CallSpec, answeredCall, callEvents, publishAll } from './testing/call-events';
import { PeerState, startFakePeers } from './testing/fake-peers';
import { TestEnv, eventually } from './testing/fixture';
import { RpcClient, createNatsMicroservice } from '@ringcloud/nest-nats';
import { TestNats, startNatsServer } from '@ringcloud/testing';
import { AppModule } from './app.module';

const A = 1001; // the caller's account
const B = 1002; // another tenant
const IVAN = '1679728441'; // user of A, extension 401
const OLGA = '1679728442'; // user of A, extension 402, no recordings
const BORIS = '1679728449'; // user of B

/** The real microservice on a private NATS, called the way the gateway calls it. */
describe('calls-service over NATS', () => {
  let env: TestEnv;
  let peers: INestMicroservice;
  const state = new PeerState();

  beforeAll(async () => {
    env = await TestEnv.start();
    state.addUser(A, IVAN, '401');
    state.addUser(A, OLGA, '402');
    state.addUser(B, BORIS, '401');
    peers = await startFakePeers(env.nats.url, state);
    await env.startApp();
  });
  afterAll(async () => {
    await peers?.close();
    await env?.stop();
  });

  /** Sends any payload in Nest's request packet straight over NATS and returns the error answered. */
  async function rawError(subject: string, payload: unknown): Promise<{ code?: string; message?: string }> {
    const packet = JSON.stringify({ pattern: subject, data: payload, id: randomUUID() });
    const reply = (await env.nc.request(subject, packet, { timeout: 3000 })).json<{ err?: { code?: string; message?: string } }>();
    return reply.err ?? {};
  }

  const ago = (seconds: number) => new Date(Date.now() - seconds * 1000);
  const call = (over: Partial<CallSpec>): CallSpec => answeredCall({ account: A, user: IVAN, ...over }, { agoS: 600 });
  async function applied(specs: CallSpec[]): Promise<void> {
    await publishAll(env.js, specs.flatMap((s) => callEvents(s, env.clock)));
    const ids = specs.map((s) => s.callId);
    await eventually(async () => (await env.prisma.call.count({ where: { callId: { in: ids }, state: 'complete', src: { not: null } } })) === specs.length);
    if (specs.some((s) => s.recording)) {
      await eventually(async () => (await env.prisma.recording.count({ where: { callId: { in: ids } } })) === specs.filter((s) => s.recording).length);
    }
  }

  it('answers the health ping', async () => {
    expect(await env.rpc.send(CallsHealthPing.contract, {})).toEqual({ status: 'ok' });
  });

  describe('CallsOriginate', () => {
    const originate = (req: Partial<CallsOriginate.Request>) => env.rpc.send(CallsOriginate.contract, { account_id: A, user: IVAN, num: '79101234567', ...req } as CallsOriginate.Request);

    beforeEach(() => {
      state.originateFailure = null;
      state.originates.length = 0;
    });

    it('stores the request, asks the adapter to originate with a new call_id, and answers "queued"', async () => {
      const answer = await originate({ num: '+79101234567' });
      expect(answer).toEqual({ call_id: expect.stringMatching(/^[0-9a-f-]{36}$/), message: 'Originate successfully queued' });
      expect(state.originates).toEqual([{ call_id: answer.call_id, account_id: A, user: IVAN, num: '+79101234567' }]);
      expect(await env.prisma.originateRequest.findUniqueOrThrow({ where: { callId: answer.call_id } })).toMatchObject({
        accountId: A,
        userName: IVAN,
        src: '401',
        num: '+79101234567',
        status: 'queued',
        actionId: 'action-1',
        error: null,
        externalId: null,
      });
      const second = await originate({ user: OLGA, num: '402' });
      expect(second.call_id).not.toBe(answer.call_id);
      expect(await env.prisma.originateRequest.findUniqueOrThrow({ where: { callId: second.call_id } })).toMatchObject({ src: '402' });
    });

    it('keeps the external id; the call is queued by id until the PBX reports, another tenant cannot see it', async () => {
      const answer = await originate({ external_id: 'lead #17' });
      expect(await env.prisma.originateRequest.findUniqueOrThrow({ where: { callId: answer.call_id } })).toMatchObject({ externalId: 'lead #17' });
      expect(await env.rpc.send(CallsCallGet.contract, { account_id: A, call_id: answer.call_id })).toEqual({
        call_id: answer.call_id,
        external_id: 'lead #17',
        state: 'queued',
        reason: null,
        direction: 'outgoing',
        src: '401',
        dst: '79101234567',
        user: IVAN,
        created_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/),
        answered_at: null,
        ended_at: null,
        duration: null,
        disposition: null,
        rec_file: null,
        transferred_to: null,
      });
      for (const [account, callId] of [[B, answer.call_id], [A, randomUUID()], [A, 'pbx1:1.2']] as const) {
        await expect(env.rpc.send(CallsCallGet.contract, { account_id: account, call_id: callId })).rejects.toEqual(DomainError.notFound('Call not found'));
      }
      for (const external_id of ['', 'x'.repeat(65), 'tab\there', 'é', 7]) {
        const error = await rawError(CallsOriginate.subject, { account_id: A, user: IVAN, num: '401', external_id });
        expect([external_id, error.code]).toEqual([external_id, 'BAD_REQUEST']);
      }
      expect((await rawError(CallsCallGet.subject, { account_id: A, call_id: '../etc' })).code).toBe('BAD_REQUEST');
    });

    it("refuses an unknown user, another tenant's user the same way, and a user not on the PBX yet as unregistered; records each", async () => {
      await expect(originate({ user: '1999999999' })).rejects.toEqual(DomainError.badRequest('Unknown user 1999999999'));
      await expect(originate({ user: BORIS })).rejects.toEqual(DomainError.badRequest(`Unknown user ${BORIS}`));
      // Created a moment ago, not on the PBX yet: its phone cannot be registered yet either.
      state.unprovisioned.add(`${A}:${OLGA}`);
      try {
        await expect(originate({ user: OLGA })).rejects.toEqual(DomainError.badRequest('User has no registered device'));
      } finally {
        state.unprovisioned.clear();
      }
      expect(state.originates).toEqual([]);
      const last = await env.prisma.originateRequest.findMany({ orderBy: { createdAt: 'desc' }, take: 3 });
      expect(last.map((r) => [r.userName, r.status, r.src])).toEqual([
        [OLGA, 'rejected', null],
        [BORIS, 'rejected', null],
        ['1999999999', 'rejected', null],
      ]);
    });

    it("passes on the adapter's refusal and outage, and records them", async () => {
      state.originateFailure = DomainError.badRequest('User has no registered device');
      await expect(originate({})).rejects.toEqual(DomainError.badRequest('User has no registered device'));
      state.originateFailure = DomainError.unavailable('PBX is unavailable');
      await expect(originate({})).rejects.toEqual(DomainError.unavailable('PBX is unavailable'));
      // A crash in the adapter is its bug: the client sees a 503, not a 500.
      state.originateFailure = new Error('boom');
      await expect(originate({})).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      const last = await env.prisma.originateRequest.findMany({ orderBy: { createdAt: 'desc' }, take: 3 });
      expect(last.map((r) => [r.status, r.error])).toEqual([
        ['failed', 'telephony is unavailable'],
        ['failed', 'PBX is unavailable'],
        ['rejected', 'User has no registered device'],
      ]);
    });

    it('answers UNAVAILABLE when the adapter does not answer; users-service is not on the way', async () => {
      await peers.close();
      const usersOnly = await startFakePeers(env.nats.url, state, ['users']);
      try {
        await expect(originate({})).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      } finally {
        await usersOnly.close();
      }
      const telephonyOnly = await startFakePeers(env.nats.url, state, ['telephony']);
      try {
        expect((await originate({})).message).toBe('Originate successfully queued');
        await expect(env.rpc.send(CallsRecordingList.contract, { account_id: A, user: IVAN })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      } finally {
        await telephonyOnly.close();
      }
      peers = await startFakePeers(env.nats.url, state);
      expect((await originate({})).message).toBe('Originate successfully queued');
    });

    it('validates the request again', async () => {
      for (const [payload, message] of [
        [{ account_id: A, user: IVAN, num: '7' }, 'num must be 2 to 20 digits with an optional leading +'],
        [{ account_id: A, user: IVAN, num: '7910\r\n' }, 'num must be 2 to 20 digits with an optional leading +'],
        [{ account_id: A, user: '../x', num: '401' }, 'user must be a numeric user name'],
        [{ account_id: A, num: '401' }, 'user is required'],
        [{ account_id: 'x', user: IVAN, num: '401' }, undefined],
      ] as const) {
        const answer = await rawError(CallsOriginate.subject, payload);
        expect(answer.code).toBe('BAD_REQUEST');
        if (message) expect(answer.message).toBe(message);
      }
      expect(state.originates).toEqual([]);
    });
  });

  describe('CallsOriginateRecord (the gateway asked the adapter itself)', () => {
    const record = (outcome: CallsOriginateRecord.Request['outcome'], over: Partial<CallsOriginateRecord.Request> = {}) =>
      env.rpc.send(CallsOriginateRecord.contract, { call_id: randomUUID(), account_id: A, user: IVAN, num: '79101234567', outcome, ...over });
    const row = (callId: string) => env.prisma.originateRequest.findUniqueOrThrow({ where: { callId } });

    beforeEach(() => {
      state.originates.length = 0;
    });

    it("dates the request by the gateway's requested_at (a record that arrives late keeps the time the client asked), never in the future", async () => {
      const queued = { status: 'queued', action_id: 'rc-10', src: '401' } as const;
      const asked = new Date(Date.now() - 90_000);
      const late = randomUUID();
      await record(queued, { call_id: late, requested_at: asked.toISOString() });
      expect((await row(late)).createdAt).toEqual(asked);
      const future = randomUUID();
      const before = Date.now();
      await record(queued, { call_id: future, requested_at: new Date(Date.now() + 3_600_000).toISOString() });
      expect((await row(future)).createdAt.getTime()).toBeLessThanOrEqual(Date.now());
      expect((await row(future)).createdAt.getTime()).toBeGreaterThanOrEqual(before - 1000);
    });

    it('shows a queued originate to an extension as internal (a call between extensions), to a number as outgoing', async () => {
      const toColleague = randomUUID();
      const toCustomer = randomUUID();
      await record({ status: 'queued', action_id: 'rc-11', src: '401' }, { call_id: toColleague, num: '402' });
      await record({ status: 'queued', action_id: 'rc-12', src: '401' }, { call_id: toCustomer, num: '+79101234567' });
      expect(await env.rpc.send(CallsCallGet.contract, { account_id: A, call_id: toColleague })).toMatchObject({ state: 'queued', direction: 'internal', src: '401', dst: '402' });
      expect(await env.rpc.send(CallsCallGet.contract, { account_id: A, call_id: toCustomer })).toMatchObject({ state: 'queued', direction: 'outgoing', dst: '+79101234567' });
    });

    it('finds an originated call by its UUID in any letter case (UUIDs are case-insensitive)', async () => {
      const call_id = randomUUID();
      await record({ status: 'queued', action_id: 'rc-9', src: '401' }, { call_id, external_id: null });
      await applied([call({ callId: call_id, direction: 'outgoing', src: '401', dst: '79101234567' })]);
      const lower = await env.rpc.send(CallsCallGet.contract, { account_id: A, call_id });
      expect(lower).toMatchObject({ call_id, state: 'completed', disposition: 'ANSWERED' });
      expect(await env.rpc.send(CallsCallGet.contract, { account_id: A, call_id: call_id.toUpperCase() })).toEqual(lower);
      await expect(env.rpc.send(CallsCallGet.contract, { account_id: B, call_id: call_id.toUpperCase() })).rejects.toEqual(DomainError.notFound('Call not found'));
    });

    it('stores a queued request in one row (action id, src, external id) and answers queued; a retried record changes nothing', async () => {
      const call_id = randomUUID();
      const queued = { status: 'queued', action_id: 'rc-7', src: '401' } as const;
      expect(await record(queued, { call_id, external_id: 'lead #9' })).toEqual({ call_id, message: 'Originate successfully queued' });
      expect(await row(call_id)).toMatchObject({ accountId: A, userName: IVAN, num: '79101234567', status: 'queued', actionId: 'rc-7', src: '401', externalId: 'lead #9', error: null });
      expect(await record({ ...queued, action_id: 'rc-8' }, { call_id, external_id: 'other' })).toEqual({ call_id, message: 'Originate successfully queued' });
      expect(await row(call_id)).toMatchObject({ actionId: 'rc-7', externalId: 'lead #9' });
      expect((await env.rpc.send(CallsCallGet.contract, { account_id: A, call_id })).state).toBe('queued');
      expect(state.originates).toEqual([]); // the adapter is not asked again
    });

    it('answers queued when an idempotent retry finds the call its refused first attempt placed after all, and the record says queued', async () => {
      const call_id = randomUUID();
      await expect(record({ status: 'refused', error: { code: 'UNAVAILABLE', message: 'the telephony adapter is unavailable' } }, { call_id })).rejects.toEqual(
        DomainError.unavailable('the telephony adapter is unavailable'),
      );
      expect(await row(call_id)).toMatchObject({ status: 'failed', actionId: null });
      expect(await record({ status: 'queued', action_id: 'rc-9', src: '401' }, { call_id })).toEqual({ call_id, message: 'Originate successfully queued' });
      expect(await row(call_id)).toMatchObject({ status: 'queued', actionId: 'rc-9', src: '401', error: null });
      expect((await env.rpc.send(CallsCallGet.contract, { account_id: A, call_id })).state).toBe('queued');
      // A late refusal does not undo the call.
      await expect(record({ status: 'refused', error: { code: 'UNAVAILABLE', message: 'x' } }, { call_id })).rejects.toBeDefined();
      expect(await row(call_id)).toMatchObject({ status: 'queued', actionId: 'rc-9' });
    });

    it("turns the adapter's refusal into v1's answer and records it", async () => {
      const refused = (code: 'NOT_FOUND' | 'BAD_REQUEST' | 'UNAVAILABLE' | 'INTERNAL', message: string) => ({ status: 'refused', error: { code, message } }) as const;
      const cases: Array<[CallsOriginateRecord.Request['outcome'], string, DomainError, string]> = [
        [refused('NOT_FOUND', 'Unknown user 1999999999'), '1999999999', DomainError.badRequest('Unknown user 1999999999'), 'rejected'],
        [refused('NOT_FOUND', `Unknown user ${BORIS}`), BORIS, DomainError.badRequest(`Unknown user ${BORIS}`), 'rejected'],
        [refused('BAD_REQUEST', 'User has no registered device'), IVAN, DomainError.badRequest('User has no registered device'), 'rejected'],
        [refused('UNAVAILABLE', 'the PBX is unavailable'), IVAN, DomainError.unavailable('the PBX is unavailable'), 'failed'],
        // A crash in the adapter is its bug: the client sees a 503, not a 500.
        [refused('INTERNAL', 'internal error'), IVAN, DomainError.unavailable('telephony is unavailable'), 'failed'],
      ];
      for (const [outcome, user, error, status] of cases) {
        const call_id = randomUUID();
        await expect(record(outcome, { call_id, user })).rejects.toEqual(error);
        expect(await row(call_id)).toMatchObject({ userName: user, status, error: error.message, actionId: null, src: null });
      }
      // Created a moment ago, not on the PBX yet: its phone cannot be registered yet either.
      state.unprovisioned.add(`${A}:${OLGA}`);
      try {
        await expect(record(refused('NOT_FOUND', `Unknown user ${OLGA}`), { user: OLGA })).rejects.toEqual(DomainError.badRequest('User has no registered device'));
      } finally {
        state.unprovisioned.clear();
      }
      expect(state.originates).toEqual([]);
    });

    it('validates the record', async () => {
      const base = { call_id: randomUUID(), account_id: A, user: IVAN, num: '401', outcome: { status: 'queued', action_id: 'rc-1', src: '401' } };
      for (const payload of [
        { ...base, call_id: 'not-a-uuid' },
        { ...base, outcome: { status: 'maybe' } },
        { ...base, outcome: { status: 'queued', src: '401' } },
        { ...base, outcome: { status: 'refused', error: { code: 'TEAPOT', message: 'x' } } },
        { ...base, outcome: { status: 'refused', error: { code: 'NOT_FOUND', message: 'x'.repeat(501) } } },
        { ...base, external_id: 'x'.repeat(65) },
      ]) {
        expect((await rawError(CallsOriginateRecord.subject, payload)).code).toBe('BAD_REQUEST');
      }
      expect(await env.prisma.originateRequest.count({ where: { callId: base.call_id } })).toBe(0);
    });
  });

  describe('CallsActiveList', () => {
    it("lists the account's started, not ended calls with their age", async () => {
      const running = call({ start: ago(42), dst: '79990001111' });
      const ringing = call({ start: ago(3), src: '79995556677', dst: '401', direction: 'incoming' });
      const other = call({ account: B, user: BORIS, start: ago(10) });
      const ended = call({ start: ago(300) });
      await publishAll(env.js, [running, ringing, other].map((s) => callEvents(s, env.clock)[0]));
      await applied([ended]);
      await eventually(async () => (await env.rpc.send(CallsActiveList.contract, { account_id: A })).length === 2);
      const list = await env.rpc.send(CallsActiveList.contract, { account_id: A });
      expect(list).toEqual([
        { src: '79995556677', dst: '401', seconds: expect.any(Number), status: 'current', call_id: ringing.callId, external_id: null },
        { src: '401', dst: '79990001111', seconds: expect.any(Number), status: 'current', call_id: running.callId, external_id: null },
      ]);
      expect(list[0].seconds).toBeGreaterThanOrEqual(3);
      expect(list[0].seconds).toBeLessThan(10);
      expect(list[1].seconds).toBeGreaterThanOrEqual(42);
      expect(list[1].seconds).toBeLessThan(50);
      expect(await env.rpc.send(CallsActiveList.contract, { account_id: B })).toEqual([{ src: '401', dst: '79101234567', seconds: expect.any(Number), status: 'current', call_id: other.callId, external_id: null }]);
      expect(await env.rpc.send(CallsActiveList.contract, { account_id: 4242 })).toEqual([]);
      // The node's adapter reads every open call of its node (all accounts) to reconcile after a resync.
      const open = await env.rpc.send(CallsOpenOnNode.contract, { node: 'pbx1' });
      expect(open).toEqual(expect.arrayContaining([running, ringing, other].map((c) => expect.objectContaining({ call_id: c.callId, account_id: c.account }))));
      // With how it was described: a call the adapter adopts after a restart keeps it (its channels may no longer tell).
      expect(open.find((c) => c.call_id === ringing.callId)).toMatchObject({ direction: 'incoming', src: '79995556677', dst: '401', transferred: false, answered_at: null });
      expect(Date.parse(open.find((c) => c.call_id === running.callId)!.started_at!)).toBe(running.start.getTime());
      expect(open.find((c) => c.call_id === other.callId)).toMatchObject({ direction: 'outgoing', src: '401', dst: '79101234567', user: BORIS, transferred: false });
      expect(open.map((c) => c.call_id)).not.toContain(ended.callId);
      expect(await env.rpc.send(CallsOpenOnNode.contract, { node: 'pbx9' })).toEqual([]);
    });
  });

  describe('CallsCompleteList', () => {
    const account = 3001;
    const complete = (q: Partial<CallsCompleteList.Request> = {}) => env.rpc.send(CallsCompleteList.contract, { account_id: account, ...q } as CallsCompleteList.Request);
    const hoursAgo = (h: number) => ago(h * 3600);
    const specs = {
      recent: call({ account, start: hoursAgo(1), dst: '79101234567', recording: { fileName: '1795700987.2.wav' } }),
      incoming: call({ account, start: hoursAgo(3), src: '+79105550000', dst: '401', direction: 'incoming', answer: null, disposition: 'NO ANSWER', end: new Date(hoursAgo(3).getTime() + 20_000) }),
      internal: call({ account, start: hoursAgo(30), src: '401', dst: '402', direction: 'internal', disposition: 'BUSY', answer: null, end: new Date(hoursAgo(30).getTime() + 4000) }),
      old: call({ account, start: hoursAgo(24 * 6.5), dst: '79101234567' }),
      tooOld: call({ account, start: hoursAgo(24 * 7 + 1), dst: '79101234567' }),
      otherTenant: call({ account: account + 1, start: hoursAgo(1), dst: '79101234567' }),
    };
    beforeAll(() => applied(Object.values(specs)));

    const expected = (s: CallSpec, recFile: string | null = null) => ({
      status: 'complete',
      src: s.src,
      dst: s.dst,
      direction: s.direction,
      call_start_time: env.clock.format(s.start),
      call_end_time: env.clock.format(s.end),
      duration: Math.round((s.end.getTime() - s.start.getTime()) / 1000),
      disposition: s.disposition,
      rec_file: recFile,
      call_id: s.callId,
      external_id: null,
      transferred_to: null,
    });

    it('lists the last 7 days of the account, newest first, in the v1 shape (PBX time zone)', async () => {
      const list = await complete();
      expect(list).toEqual([
        expected(specs.recent, `/v1/users/${IVAN}/records/1795700987.2.wav`),
        expected(specs.incoming),
        expected(specs.internal),
        expected(specs.old),
      ]);
      expect(list[0].call_start_time).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
      // Europe/Moscow is UTC+3: the wall clock shown is the PBX's, not UTC.
      expect(list[0].call_start_time).toBe(new Date(specs.recent.start.getTime() + 3 * 3600_000).toISOString().slice(0, 19).replace('T', ' '));
    });

    it('filters by days (by end time) and by num (src or dst, with or without +)', async () => {
      expect((await complete({ days: 1 })).map((c) => c.dst)).toEqual([specs.recent.dst, specs.incoming.dst]);
      expect((await complete({ days: 2 })).length).toBe(3);
      expect((await complete({ num: '79101234567' })).map((c) => c.call_start_time)).toEqual([specs.recent, specs.old].map((s) => env.clock.format(s.start)));
      expect((await complete({ num: '402' })).map((c) => c.direction)).toEqual(['internal']);
      expect((await complete({ num: '401' })).length).toBe(4);
      expect((await complete({ num: '79105550000' })).map((c) => c.src)).toEqual(['+79105550000']);
      expect((await complete({ num: '+79105550000', days: 1 })).length).toBe(1);
      expect(await complete({ num: '555', days: 7 })).toEqual([]);
      expect(await complete({ account_id: 4343 })).toEqual([]);
    });

    it('pages the same list with a keyset cursor: every call once, in order, the last page without a cursor', async () => {
      const whole = await complete();
      const seen: typeof whole = [];
      let cursor: string | undefined;
      for (let pages = 1; ; pages++) {
        const page = await env.rpc.send(CallsCompletePage.contract, { account_id: account, days: 7, page: { limit: 2, ...(cursor ? { cursor } : {}) } });
        expect(page.items.length).toBeLessThanOrEqual(2);
        seen.push(...page.items);
        if (!page.next_cursor) {
          expect(pages).toBe(2);
          break;
        }
        cursor = page.next_cursor;
      }
      expect(seen).toEqual(whole);
      const filtered = await env.rpc.send(CallsCompletePage.contract, { account_id: account, days: 7, num: '79101234567', page: { limit: 1 } });
      expect(filtered.items.map((c) => c.call_id)).toEqual([specs.recent.callId]);
      const rest = await env.rpc.send(CallsCompletePage.contract, { account_id: account, days: 7, num: '79101234567', page: { limit: 1, cursor: filtered.next_cursor! } });
      expect([rest.items.map((c) => c.call_id), rest.next_cursor]).toEqual([[specs.old.callId], null]);
      // Another list's cursor, or one we never made: 400.
      const foreign = Buffer.from(JSON.stringify({ k: [1, 'x'] })).toString('base64url');
      expect((await rawError(CallsCompletePage.subject, { account_id: account, days: 7, page: { limit: 2, cursor: foreign } })).code).toBe('BAD_REQUEST');
      expect((await rawError(CallsCompletePage.subject, { account_id: account, days: 7, page: { limit: 2, cursor: '!!' } })).code).toBe('BAD_REQUEST');
      // Instants PostgreSQL cannot hold (or no call can have) are forged too: 400, not the database's error.
      for (const at of [-8_640_000_000_000_000, -62_135_596_800_001, -1, 253_402_300_800_000, 1.5]) {
        for (const key of [[at, 0, 'x'], [0, at, 'x']]) {
          const forged = Buffer.from(JSON.stringify({ k: key })).toString('base64url');
          expect([key, (await rawError(CallsCompletePage.subject, { account_id: account, days: 7, page: { limit: 2, cursor: forged } })).code]).toEqual([key, 'BAD_REQUEST']);
        }
      }
      expect((await rawError(CallsCompletePage.subject, { account_id: account, days: 7, page: { limit: 0 } })).code).toBe('BAD_REQUEST');
    });

    it('refuses days outside 1..7 and malformed numbers', async () => {
      for (const payload of [{ days: 0 }, { days: 8 }, { days: 1.5 }, { num: 'abc' }, { num: '1' }]) {
        expect((await rawError(CallsCompleteList.subject, { account_id: account, ...payload })).code).toBe('BAD_REQUEST');
      }
    });
  });

  describe('recordings', () => {
    const account = A;
    const older = call({ start: ago(7200), recording: { fileName: 'ivan-old.wav' } });
    const newer = call({ start: ago(600), recording: { fileName: 'ivan-new.wav', user: null } }); // the call tells whose it is
    beforeAll(() => applied([older, newer, call({ account: B, user: BORIS, start: ago(300), recording: { fileName: 'boris.wav' } })]));

    it("lists a user's recordings newest first, as [file_name, recorded_at]", async () => {
      const list = await env.rpc.send(CallsRecordingList.contract, { account_id: account, user: IVAN });
      expect(list.filter(([f]) => f.startsWith('ivan-'))).toEqual([
        ['ivan-new.wav', env.clock.format(newer.end)],
        ['ivan-old.wav', env.clock.format(older.end)],
      ]);
      expect(list.map(([f]) => f)).not.toContain('boris.wav');
      expect(await env.rpc.send(CallsRecordingList.contract, { account_id: account, user: OLGA })).toEqual([]);
    });

    it('keeps listing the recordings of a user users-service no longer knows (deleted), in its account only', async () => {
      const gone = '1679728499';
      const last = call({ user: gone, start: ago(900), recording: { fileName: 'gone.wav' } });
      await applied([last]);
      expect(await env.rpc.send(CallsRecordingList.contract, { account_id: account, user: gone })).toEqual([['gone.wav', env.clock.format(last.end)]]);
      await expect(env.rpc.send(CallsRecordingList.contract, { account_id: B, user: gone })).rejects.toEqual(DomainError.notFound('User not found'));
    });

    it('lists a transferred call\'s recording under the colleague who took it too, and lets them download it', async () => {
      const transferred = call({ start: ago(240), recording: { fileName: 'ivan-to-olga.wav' }, transferredTo: { user: OLGA, num: '402' } });
      await applied([transferred]);
      await eventually(async () => (await env.prisma.call.findUnique({ where: { callId: transferred.callId } }))?.transferredTo === OLGA);
      expect(await env.rpc.send(CallsRecordingList.contract, { account_id: account, user: OLGA })).toEqual([['ivan-to-olga.wav', env.clock.format(transferred.end)]]);
      expect((await env.rpc.send(CallsRecordingList.contract, { account_id: account, user: IVAN })).map(([f]) => f)).toContain('ivan-to-olga.wav');
      expect(await env.rpc.send(CallsRecordingGet.contract, { account_id: account, user: OLGA, file_name: 'ivan-to-olga.wav' })).toMatchObject({ object_name: `${account}/ivan-to-olga.wav` });
      // Not another tenant's colleague of the same name, nor the colleague's other calls.
      await expect(env.rpc.send(CallsRecordingGet.contract, { account_id: B, user: OLGA, file_name: 'ivan-to-olga.wav' })).rejects.toEqual(DomainError.notFound('Recording not found'));
      await expect(env.rpc.send(CallsRecordingGet.contract, { account_id: account, user: OLGA, file_name: 'ivan-old.wav' })).rejects.toEqual(DomainError.notFound('Recording not found'));
    });

    it('lists a call transferred twice under both colleagues who took it, the last one kept as transferred_to', async () => {
      const again = call({ start: ago(200), recording: { fileName: 'ivan-olga-ivan.wav' }, transferredTo: [{ user: OLGA, num: '402' }, { user: '1679728443', num: '403' }] });
      await applied([again]);
      await eventually(async () => (await env.prisma.call.findUnique({ where: { callId: again.callId } }))?.transferredTo === '1679728443');
      expect((await env.prisma.call.findUnique({ where: { callId: again.callId } }))?.transferredUsers).toEqual([OLGA, '1679728443']);
      for (const user of [IVAN, OLGA, '1679728443']) {
        expect((await env.rpc.send(CallsRecordingList.contract, { account_id: account, user })).map(([f]) => f)).toContain('ivan-olga-ivan.wav');
      }
      expect(await env.rpc.send(CallsRecordingGet.contract, { account_id: account, user: OLGA, file_name: 'ivan-olga-ivan.wav' })).toMatchObject({ object_name: `${account}/ivan-olga-ivan.wav` });
    });

    it('leaves out a recording without audio (a bare WAV header: a busy call): not listed, not downloadable', async () => {
      const busy = call({ start: ago(300), recording: { fileName: 'ivan-busy.wav', durationS: 0 } });
      await applied([busy]);
      expect((await env.rpc.send(CallsRecordingList.contract, { account_id: account, user: IVAN })).map(([f]) => f)).not.toContain('ivan-busy.wav');
      await expect(env.rpc.send(CallsRecordingGet.contract, { account_id: account, user: IVAN, file_name: 'ivan-busy.wav' })).rejects.toEqual(
        DomainError.notFound('Recording not found'),
      );
    });

    it("answers NOT_FOUND for an unknown user and, identically, for another tenant's user", async () => {
      const notFound = DomainError.notFound('User not found');
      await expect(env.rpc.send(CallsRecordingList.contract, { account_id: account, user: '1999999999' })).rejects.toEqual(notFound);
      await expect(env.rpc.send(CallsRecordingList.contract, { account_id: account, user: BORIS })).rejects.toEqual(notFound);
    });

    it("gives one recording's storage only to its user in its account", async () => {
      expect(await env.rpc.send(CallsRecordingGet.contract, { account_id: account, user: IVAN, file_name: 'ivan-new.wav' })).toEqual({
        file_name: 'ivan-new.wav',
        object_name: `${account}/ivan-new.wav`,
        content_type: 'audio/wav',
        size: 48_044,
      });
      const notFound = DomainError.notFound('Recording not found');
      for (const req of [
        { account_id: account, user: OLGA, file_name: 'ivan-new.wav' },
        { account_id: B, user: IVAN, file_name: 'ivan-new.wav' },
        { account_id: account, user: IVAN, file_name: 'boris.wav' },
        { account_id: B, user: BORIS, file_name: 'ivan-old.wav' },
        { account_id: account, user: IVAN, file_name: 'nope.wav' },
      ]) {
        await expect(env.rpc.send(CallsRecordingGet.contract, req)).rejects.toEqual(notFound);
      }
      for (const file_name of ['../1001/ivan-new.wav', '..', 'a/b.wav', '.hidden']) {
        expect((await rawError(CallsRecordingGet.subject, { account_id: account, user: IVAN, file_name })).code).toBe('BAD_REQUEST');
      }
    });
  });
});

describe('calls-service with its database down', () => {
  let nats: TestNats;
  let app: INestMicroservice;
  let rpc: RpcClient;

  beforeAll(async () => {
    nats = await startNatsServer();
    const config = {
      nodeEnv: 'test',
      natsUrl: nats.url,
      natsRequestTimeoutMs: 2000,
      logLevel: 'error' as const,
      databaseUrl: 'postgresql://postgres@127.0.0.1:1/ringcloud?schema=calls',
      pbxTimeZone: 'UTC',
      cdrGraceMs: 0,
      outboxSweepMs: 1000,
      consumer: { durableName: 'calls-service', batch: 100, txSize: 50, maxAckPending: 1000, ackWaitMs: 30_000, maxAttempts: 3 },
    };
    app = await createNatsMicroservice(AppModule.forRoot(config), { servers: nats.url, queue: 'calls-service', logger: false });
    await app.listen();
    rpc = new RpcClient({ servers: nats.url, requestTimeoutMs: 8000, name: 'test-gateway' });
    await rpc.connect();
  });
  afterAll(async () => {
    await rpc?.onApplicationShutdown();
    await app?.close();
    await nats?.stop();
  });

  it('answers UNAVAILABLE, not INTERNAL', async () => {
    const unavailable = { code: 'UNAVAILABLE', message: 'calls database is unavailable' };
    await expect(rpc.send(CallsHealthPing.contract, {})).rejects.toMatchObject(unavailable);
    await expect(rpc.send(CallsActiveList.contract, { account_id: A })).rejects.toMatchObject(unavailable);
    await expect(rpc.send(CallsCompleteList.contract, { account_id: A, days: 7 })).rejects.toMatchObject(unavailable);
    await expect(rpc.send(CallsRecordingGet.contract, { account_id: A, user: IVAN, file_name: 'x.wav' })).rejects.toMatchObject(unavailable);
  });

  it('still originates: the PBX is asked first, and a queued call is answered queued (an error would make the CRM dial twice)', async () => {
    const state = new PeerState();
    state.addUser(A, IVAN, '401');
    const telephony = await startFakePeers(nats.url, state, ['telephony']);
    try {
      const answer = await rpc.send(CallsOriginate.contract, { account_id: A, user: IVAN, num: '79101234567', external_id: null });
      expect(answer).toEqual({ call_id: expect.stringMatching(/^[0-9a-f-]{36}$/), message: 'Originate successfully queued' });
      expect(state.originates.map((o) => o.call_id)).toEqual([answer.call_id]);
      // A refusal is still the adapter's answer.
      await expect(rpc.send(CallsOriginate.contract, { account_id: A, user: IVAN, num: '7' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      // The gateway's record of a queued call is refused, so that it tries again later (its client has its answer).
      const queued = { status: 'queued', action_id: 'rc-1', src: '401' } as const;
      await expect(rpc.send(CallsOriginateRecord.contract, { call_id: answer.call_id, account_id: A, user: IVAN, num: '79101234567', outcome: queued })).rejects.toMatchObject({
        code: 'UNAVAILABLE',
        message: 'the originate request could not be recorded',
      });
    } finally {
      await telephony.close();
    }
  });
});
