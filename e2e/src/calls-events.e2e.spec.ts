import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { V1Client, waitFor } from '@ringcloud/testing';
import { expectError, expectSuccess, newAccountId, sleep, useStack } from './support';

// Issue 9, the calls part: call ids (X-Call-Id, GET /v1/calls/<call_id>, call_id/external_id in lists),
// completed-calls pagination, and the CRM call events calls-service publishes to CRM_EVENTS.
const world = useStack({ telephony: true });

const control = (p: string, body?: unknown) =>
  fetch(`${world.stack.simulatorControl}${p}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body ?? {}),
  }).then((r) => (r.ok ? 200 : r.status));

interface CrmEvent {
  id: string;
  type: string;
  timestamp: string;
  account_id: number;
  data: Record<string, any>;
}

let nc: NatsConnection;
beforeAll(async () => {
  nc = await connect({ servers: world.stack.nats.url });
}, 120_000);
afterAll(() => nc?.close());

/** Every CRM event of the account in CRM_EVENTS, as a consumer (the webhooks app) receives them. */
async function crmEvents(account: number): Promise<CrmEvent[]> {
  // The whole stream, filtered here (nats-server 2.9 has no multi-filter consumers; the stream is small in tests).
  const info = await (await jetstreamManager(nc)).streams.info('CRM_EVENTS').catch(() => undefined);
  const total = info?.state.messages ?? 0;
  if (!total) return [];
  const consumer = await jetstream(nc).consumers.get('CRM_EVENTS', { deliver_policy: DeliverPolicy.All });
  const out: CrmEvent[] = [];
  let seen = 0;
  for await (const m of await consumer.fetch({ max_messages: total, expires: 3000 })) {
    if (m.subject === `crm.events.${account}`) out.push(m.json());
    if (++seen === total) break;
  }
  return out;
}
const ofCall = (events: CrmEvent[], callId: string) =>
  events.filter((e) => e.data.call_id === callId).sort((a, b) => a.data.sequence - b.data.sequence);

/** Waits until the call's events end with `last` (and whatever follows it shortly), then returns them. */
async function eventsOfCall(account: number, callId: string, last: string, timeoutMs = 30_000): Promise<CrmEvent[]> {
  await waitFor(`${last} of ${callId}`, async () => ofCall(await crmEvents(account), callId).some((e) => e.type === last), timeoutMs);
  await sleep(1500); // a recording or a duplicate would come now
  return ofCall(await crmEvents(account), callId);
}

async function employee(num: string) {
  const account = newAccountId();
  const creator = await world.client(account, 'RW');
  const user: string = expectSuccess(await creator.post('/v1/users/create', { password: 'Sip5ecret!', num, mail: `c${num}@example.com` }));
  return { account, user, num, client: () => world.client(account, 'RW') };
}

/** POST /v1/calls until the PBX knows the user's device (provisioning is asynchronous). */
async function originate(e: Awaited<ReturnType<typeof employee>>, params: Record<string, unknown>) {
  return waitFor(
    `originate ${e.user}`,
    async () => {
      const res = await (await e.client()).post('/v1/calls', { user: e.user, ...params });
      if (res.status === 400 && /registered/.test(res.body?.message)) return undefined;
      return res;
    },
    20_000,
  );
}

let poll = 0;
/** GET /v1/calls/<id> (a new URL per poll: the limit is 1 per second per URL). */
const getCall = (client: V1Client, id: string) => client.get(`/v1/calls/${encodeURIComponent(id)}`, { p: String(++poll) });
const completedList = async (client: V1Client, query: Record<string, string> = {}) => {
  const res = await client.get('/v1/calls/complete', { days: '1', p: String(++poll), ...query });
  return { data: expectSuccess(res) as any[], next: res.headers.get('x-next-cursor') };
};

const seqs = (events: CrmEvent[]) => events.map((e) => e.data.sequence);
const kinds = (events: CrmEvent[]) => events.map((e) => (e.type === 'call.ringing' ? `ringing:${e.data.party}` : e.type));
/** An answered call the PBX started: its phone rang, it was answered, it ended (and was maybe recorded) — in sequence 0, 1, 2… */
const answeredCall = (events: CrmEvent[]) => {
  const expected = ['call.started', 'ringing:user', 'call.answered', 'call.completed'];
  const got = kinds(events);
  return (
    JSON.stringify(got.slice(0, 4)) === JSON.stringify(expected) &&
    (got.length === 4 || (got.length === 5 && got[4] === 'recording.ready')) &&
    JSON.stringify(seqs(events)) === JSON.stringify(got.map((_, i) => i))
  );
};

describe('call ids and CRM call events (issue 9)', () => {
  it('an answered originate: X-Call-Id, the call by id through its states, ids in lists, and every event in order', async () => {
    const e = await employee('601');
    const reader = await e.client();
    const res = await originate(e, { num: '79101234567', external_id: 'deal-1001/42' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'success', message: null, data: 'Originate successfully queued' });
    const callId = res.headers.get('x-call-id')!;
    expect(callId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

    // While it lasts: its state moves on, and the active list shows its ids.
    const live = await waitFor('the call answered', async () => {
      const call = expectSuccess(await getCall(reader, callId));
      return call.state === 'answered' ? call : undefined;
    });
    expect(live).toMatchObject({ call_id: callId, external_id: 'deal-1001/42', direction: 'outgoing', src: '601', dst: '79101234567', user: e.user, ended_at: null, disposition: null });
    const active = expectSuccess(await reader.get('/v1/calls/active', { p: String(++poll) }));
    expect(active).toContainEqual({ src: '601', dst: '79101234567', seconds: expect.any(Number), status: 'current', call_id: callId, external_id: 'deal-1001/42' });

    const done = await waitFor('the call completed', async () => {
      const call = expectSuccess(await getCall(reader, callId));
      return call.state === 'completed' && call.rec_file ? call : undefined;
    });
    expect(done).toEqual({
      call_id: callId,
      external_id: 'deal-1001/42',
      state: 'completed',
      reason: null,
      direction: 'outgoing',
      src: '601',
      dst: '79101234567',
      user: e.user,
      created_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/),
      answered_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/),
      ended_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/),
      duration: expect.any(Number),
      disposition: 'ANSWERED',
      rec_file: expect.stringMatching(new RegExp(`^/v1/users/${e.user}/records/[A-Za-z0-9._-]+$`)),
      transferred_to: null,
    });
    const listed = (await completedList(reader)).data.find((c) => c.call_id === callId);
    expect(listed).toMatchObject({ external_id: 'deal-1001/42', disposition: 'ANSWERED', rec_file: done.rec_file });

    const events = await eventsOfCall(e.account, callId, 'recording.ready');
    expect(kinds(events)).toEqual(['call.started', 'ringing:user', 'ringing:customer', 'call.answered', 'call.completed', 'recording.ready']);
    expect(seqs(events)).toEqual([0, 1, 2, 3, 4, 5]);
    for (const ev of events) {
      expect(ev).toMatchObject({ id: expect.stringMatching(/^evt_[a-z2-7]{26}$/), account_id: e.account, timestamp: expect.stringMatching(/Z$/) });
    }
    expect(events[0].data).toMatchObject({ direction: 'outgoing', src: '601', dst: '79101234567', user: e.user, external_id: 'deal-1001/42', state: 'queued' });
    // The completed-call object as listed when the call completed: its recording may still have been on its way.
    expect(events[4].data).toEqual({ ...listed, sequence: 4, state: 'completed', rec_file: events[4].data.rec_file });
    expect([null, done.rec_file]).toContain(events[4].data.rec_file);
    expect(events[5].data).toEqual({ call_id: callId, sequence: 5, user: e.user, rec_file: done.rec_file });
    expect(new Set(events.map((ev) => ev.id)).size).toBe(6);
  });

  it('answers 404 for another account\'s call, an unknown id and a malformed one; 400 for a bad external_id', async () => {
    const e = await employee('611');
    const res = await originate(e, { num: '79101234570' });
    expect(res.status).toBe(200);
    const callId = res.headers.get('x-call-id')!;
    expect(expectSuccess(await getCall(await e.client(), callId)).external_id).toBeNull();
    const stranger = await world.client(newAccountId(), 'RO');
    expectError(await getCall(stranger, callId), 404, 'Call not found');
    expectError(await getCall(await e.client(), '0b6f2f0e-5c1a-4d4e-9a7e-2f1c3b4d5e6f'), 404, 'Call not found');
    expectError(await getCall(await e.client(), 'pbx1:1795701031.22'), 404, 'Call not found');
    expectError(await getCall(await e.client(), '..%2F..%2Fetc'), 404);
    for (const external_id of ['x'.repeat(65), '', 'line\nbreak', 'кириллица', 42, { a: 1 }]) {
      const bad = await (await e.client()).post('/v1/calls', { user: e.user, num: '79101234571', external_id });
      expectError(bad, 400, /external_id/);
      expect(bad.headers.get('x-call-id')).toBeNull();
    }
    // An error answer never carries a call id.
    const refused = await (await e.client()).post('/v1/calls', { user: '1999999999', num: '79101234571' });
    expectError(refused, 400);
    expect(refused.headers.get('x-call-id')).toBeNull();
  });

  it.each([
    ['busy', '0001234567', 'BUSY', 'completed'],
    ['failed', '9991234567', 'FAILED', 'failed'],
    ['no answer', '5551234567', 'NO ANSWER', 'completed'],
  ])('a %s call: started, ringing, completed — never answered, no recording announced', async (_name, num, disposition, state) => {
    const e = await employee(num === '5551234567' ? '623' : num === '0001234567' ? '621' : '622');
    const res = await originate(e, { num });
    expect(res.status).toBe(200);
    const callId = res.headers.get('x-call-id')!;
    const events = await eventsOfCall(e.account, callId, 'call.completed', 60_000);
    expect(kinds(events)[0]).toBe('call.started');
    expect(kinds(events)[1]).toBe('ringing:user');
    expect(kinds(events).at(-1)).toBe('call.completed');
    expect(kinds(events)).not.toContain('call.answered');
    expect(kinds(events)).not.toContain('recording.ready');
    expect(seqs(events)).toEqual(events.map((_, i) => i));
    expect(events.at(-1)!.data).toMatchObject({ call_id: callId, disposition, state, rec_file: null });
    const call = expectSuccess(await getCall(await e.client(), callId));
    expect(call).toMatchObject({ state, disposition, rec_file: null, answered_at: null });
    if (state === 'failed') expect(call.reason).toEqual(expect.any(String));
  }, 90_000);

  it('inbound and internal calls have ids: listed, readable by id, announced', async () => {
    const a = await employee('631');
    const creator = await world.client(a.account, 'RW');
    const b: string = expectSuccess(await creator.post('/v1/users/create', { password: 'Sip5ecret!', num: '632', mail: 'b632@example.com' }));
    await originate(a, { num: '79100000631' }); // the phone is registered on the PBX: it can answer
    await waitFor('inbound accepted', async () => (await control('/calls/inbound', { from: '79105550631', to_user: a.user })) === 200, 20_000);
    await waitFor('internal accepted', async () => (await control('/calls/internal', { from_user: b, to_num: '631' })) === 200, 20_000);
    const reader = await a.client();
    const [inbound, internal] = await waitFor('both listed', async () => {
      const { data } = await completedList(reader);
      const pair = [data.find((c) => c.direction === 'incoming' && c.src === '79105550631'), data.find((c) => c.direction === 'internal')];
      return pair[0] && pair[1] ? pair : undefined;
    });
    for (const call of [inbound, internal]) {
      expect(call.call_id).toMatch(/^[A-Za-z0-9._-]+:[0-9.]+$/);
      expect(call.external_id).toBeNull();
      expect(expectSuccess(await getCall(reader, call.call_id))).toMatchObject({ call_id: call.call_id, state: 'completed', direction: call.direction, src: call.src, dst: call.dst });
    }
    const events = await eventsOfCall(a.account, inbound.call_id, 'call.completed');
    expect(answeredCall(events)).toBe(true);
    expect(events[0].data).toMatchObject({ direction: 'incoming', src: '79105550631', external_id: null });
    expect(answeredCall(await eventsOfCall(a.account, internal.call_id, 'call.completed'))).toBe(true);
  });

  it('pages completed calls with limit and X-Next-Cursor; without limit the answer is v1\'s', async () => {
    const e = await employee('641');
    await waitFor('endpoint provisioned', async () => (await control('/calls/inbound', { from: '79990000640', to_user: e.user })) === 200, 20_000);
    for (let i = 1; i <= 4; i++) expect(await control('/calls/inbound', { from: `7999000064${i}`, to_user: e.user })).toBe(200);
    const reader = await e.client();
    const whole = await waitFor('5 calls listed', async () => {
      const list = await completedList(reader);
      return list.data.length === 5 ? list : undefined;
    }, 60_000);
    expect(whole.next).toBeNull();
    const seen: any[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { data: any[]; next: string | null } = await completedList(reader, { limit: '2', ...(cursor ? { cursor } : {}) });
      seen.push(...page.data);
      cursor = page.next;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual(whole.data);
    expect((await completedList(reader, { limit: '1000' })).next).toBeNull();
    for (const [query, message] of [
      [{ limit: '0' }, /limit/],
      [{ limit: '1001' }, /limit/],
      [{ limit: 'x' }, /limit/],
      [{ cursor: 'abc' }, /cursor needs limit/],
      [{ limit: '2', cursor: '!!!' }, /cursor/],
      [{ limit: '2', cursor: Buffer.from(JSON.stringify({ k: ['a'] })).toString('base64url') }, /cursor/],
    ] as const) {
      expectError(await reader.get('/v1/calls/complete', { p: String(++poll), ...query }), 400, message);
    }
  }, 90_000);

  it('loses and repeats no event when calls-service is killed mid-stream and started again', async () => {
    const e = await employee('651');
    await originate(e, { num: '79100000651' }); // the phone is registered on the PBX: it can answer
    const service = world.stack.processes.find((p) => p.name === 'calls-service' && p.child.exitCode === null)!;
    const callers = Array.from({ length: 12 }, (_, i) => `7991000${String(i).padStart(4, '0')}`);
    for (const [i, from] of callers.entries()) {
      expect(await control('/calls/inbound', { from, to_user: e.user })).toBe(200);
      if (i === 5) await service.stop('SIGKILL');
      await sleep(150);
    }
    await sleep(4000); // the calls end on the PBX while nobody derives their events
    // What the killed process had pulled but not committed comes back after ack_wait: keep that short here.
    world.stack.addApp('calls-service', { CALLS_ACK_WAIT_MS: '5000' });
    const reader = await e.client();
    const list = await waitFor('12 inbound calls listed', async () => {
      const l = await completedList(reader).catch(() => ({ data: [] as any[] }));
      const inbound = l.data.filter((c) => c.direction === 'incoming');
      return inbound.length === 12 ? inbound : undefined;
    }, 60_000);
    expect(list.map((c) => c.disposition)).toEqual(callers.map(() => 'ANSWERED'));
    const ids = list.map((c) => c.call_id);
    await waitFor('every call completed in CRM events', async () => {
      const events = await crmEvents(e.account);
      return ids.every((id) => events.some((ev) => ev.data.call_id === id && ev.type === 'call.completed'));
    }, 90_000);
    await sleep(2000);
    const events = await crmEvents(e.account);
    expect(new Set(events.map((ev) => ev.id)).size).toBe(events.length);
    for (const id of ids) {
      const mine = ofCall(events, id);
      expect([id, answeredCall(mine), kinds(mine), seqs(mine)]).toEqual([id, true, kinds(mine), seqs(mine)]);
    }
  }, 180_000);
});
