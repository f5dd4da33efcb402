import { CrmEvent, CrmEventId, crmEventId } from '@ringcloud/contracts-events';
import { CallDetails, CompletedCall } from '@ringcloud/contracts-calls';
import { CallSnapshot, callState, toCallDetails } from '../calls/call-snapshot';
import { PbxClock } from '../time/pbx-clock';
import { LEGACY, dueAnnouncements } from './crm-stages';

const clock = new PbxClock('UTC');
const T = (s: number) => new Date(Date.UTC(2026, 11, 3, 10, 0, s));
const now = T(600);

function snapshot(over: Partial<CallSnapshot> = {}): CallSnapshot {
  return {
    call_id: 'c-1',
    account_id: 1001,
    has_call: true,
    direction: 'outgoing',
    src: '401',
    dst: '79101234567',
    user_name: '1679728441',
    started_at: T(0),
    ringing_user_at: null,
    ringing_customer_at: null,
    transferred_at: null,
    transferred_to: null,
    transferred_to_num: null,
    answered_at: null,
    bridged_at: null,
    ended_at: null,
    end_cause: null,
    end_cause_txt: null,
    reconciled: false,
    duration: null,
    disposition: null,
    state: 'active',
    cdr_seq: null,
    crm_announced: [],
    crm_next_seq: 0,
    external_id: 'crm-42',
    requested_at: T(0),
    request_status: 'queued',
    request_error: null,
    rec_file_name: null,
    rec_user: null,
    last_event_at: T(0),
    events_complete: true,
    ...over,
  };
}
const due = (s: CallSnapshot, cdrGraceMs = 10_000) => dueAnnouncements(s, { clock, now, cdrGraceMs, holdMs: 60_000 });
const summary = (s: CallSnapshot, cdrGraceMs?: number) => due(s, cdrGraceMs).map((a) => [a.event.type, a.event.data.sequence, a.event.data.state ?? null]);
const answered = snapshot({
  ringing_user_at: T(0),
  ringing_customer_at: T(3),
  answered_at: T(2),
  bridged_at: T(5),
  ended_at: T(65),
  state: 'complete',
  cdr_seq: 6,
  disposition: 'ANSWERED',
  duration: 65,
  end_cause: 16,
  rec_file_name: 'c-1.wav',
  rec_user: '1679728441',
});

describe('CRM stages of a call', () => {
  it('announces an answered call in order, numbered from 0, each a valid CrmEvent with a stable id', () => {
    const out = due(answered);
    expect(summary(answered)).toEqual([
      ['call.started', 0, 'queued'],
      ['call.ringing', 1, 'ringing_user'],
      ['call.ringing', 2, 'ringing_customer'],
      ['call.answered', 3, 'answered'],
      ['call.completed', 4, 'completed'],
      ['recording.ready', 5, null],
    ]);
    for (const a of out) {
      expect(CrmEvent.parse(a.event)).toEqual(a.event);
      expect(CrmEventId.parse(a.event.id)).toBe(crmEventId(`calls:c-1:${a.stage}`));
    }
    expect(out[1].event.data).toEqual({ call_id: 'c-1', sequence: 1, direction: 'outgoing', src: '401', dst: '79101234567', user: '1679728441', external_id: 'crm-42', state: 'ringing_user', party: 'user' });
    expect(out[2].event.data.party).toBe('customer');
    const completed = out[4].event.data;
    expect(CompletedCall.parse(completed)).toMatchObject({ call_id: 'c-1', external_id: 'crm-42', disposition: 'ANSWERED', duration: 65, rec_file: '/v1/users/1679728441/records/c-1.wav' });
    expect(out[5].event.data).toEqual({ call_id: 'c-1', sequence: 5, user: '1679728441', rec_file: '/v1/users/1679728441/records/c-1.wav' });
    expect(out.map((a) => a.event.timestamp)).toEqual([T(0), T(0), T(3), T(5), T(65), T(65)].map((d) => d.toISOString()));
  });

  it('tells a transfer while the call goes on, between its answer and its completion, and the record names the colleague', () => {
    const transferred = { ...answered, transferred_at: T(30), transferred_to: '7555374228', transferred_to_num: '902' };
    const out = due(transferred);
    expect(summary(transferred)).toEqual([
      ['call.started', 0, 'queued'],
      ['call.ringing', 1, 'ringing_user'],
      ['call.ringing', 2, 'ringing_customer'],
      ['call.answered', 3, 'answered'],
      ['call.transferred', 4, 'answered'],
      ['call.completed', 5, 'completed'],
      ['recording.ready', 6, null],
    ]);
    expect(out[4].event.data).toEqual({
      call_id: 'c-1',
      sequence: 4,
      direction: 'outgoing',
      src: '401',
      dst: '79101234567',
      user: '1679728441',
      external_id: 'crm-42',
      state: 'answered',
      to_user: '7555374228',
      to: '902',
    });
    expect(out[4].event.timestamp).toBe(T(30).toISOString());
    expect(CompletedCall.parse(out[5].event.data)).toMatchObject({ transferred_to: '7555374228' });
    // Live: announced while the call goes on; not told once the completion overtook it.
    expect(summary({ ...transferred, ended_at: null, state: 'active', cdr_seq: null, disposition: null, duration: null, rec_file_name: null }).map(([t]) => t)).toContain('call.transferred');
    expect(summary({ ...transferred, crm_announced: ['started', 'ringing.user', 'ringing.customer', 'answered', 'completed'], crm_next_seq: 5 }).map(([t]) => t)).toEqual(['recording.ready']);
  });

  it('continues from what was announced and never goes back to a stage a later one overtook', () => {
    expect(summary({ ...answered, crm_announced: ['started', 'ringing.user'], crm_next_seq: 2 }).map(([t, n]) => [t, n])).toEqual([
      ['call.ringing', 2],
      ['call.answered', 3],
      ['call.completed', 4],
      ['recording.ready', 5],
    ]);
    // The customer's ringing arrived after the answer was announced: skipped, not told late.
    expect(summary({ ...answered, crm_announced: ['started', 'answered'], crm_next_seq: 2 }).map(([t]) => t)).toEqual(['call.completed', 'recording.ready']);
    expect(due({ ...answered, crm_announced: ['started', 'ringing.user', 'ringing.customer', 'answered', 'completed', 'recording'] })).toEqual([]);
  });

  it('busy / no answer: completed without answered and without a recording; failed carries its reason', () => {
    const busy = snapshot({ ringing_user_at: T(0), ringing_customer_at: T(3), answered_at: T(2), ended_at: T(8), state: 'complete', cdr_seq: 5, disposition: 'BUSY', duration: 8, end_cause: 17, end_cause_txt: 'User busy' });
    expect(summary(busy).map(([t]) => t)).toEqual(['call.started', 'call.ringing', 'call.ringing', 'call.completed']);
    const failed = snapshot({ ended_at: T(1), state: 'complete', cdr_seq: 2, disposition: 'FAILED', duration: 0, end_cause: 34, end_cause_txt: 'Circuit/channel congestion' });
    const out = due(failed);
    expect(out.map((a) => a.event.type)).toEqual(['call.started', 'call.completed']);
    expect(out[1].event.data).toMatchObject({ state: 'failed', reason: 'Circuit/channel congestion', disposition: 'FAILED' });
  });

  it('holds a call while one of its telephony events is still on its way, and announces without it after the hold', () => {
    const gap = { ...answered, events_complete: false, last_event_at: T(590) };
    expect(due(gap)).toEqual([]);
    expect(summary({ ...gap, last_event_at: T(500) }).map(([t]) => t)).toEqual([
      'call.started',
      'call.ringing',
      'call.ringing',
      'call.answered',
      'call.completed',
      'recording.ready',
    ]);
  });

  it("holds an originated call whose request is not stored yet (its external_id comes with it), not the PBX's own calls", () => {
    const originated = '0b6f3a52-6d0e-4c4c-9d1b-2b7f7c1f0a11';
    const early = snapshot({ call_id: originated, requested_at: null, external_id: null, last_event_at: T(590) });
    expect(due(early)).toEqual([]);
    // Stored: announced with the CRM's tag.
    expect(due({ ...early, requested_at: T(589), external_id: 'crm-42' }).map((a) => a.event.data.external_id)).toEqual(['crm-42']);
    // Never stored (the database failed the request): announced without it once the hold is over.
    expect(summary({ ...early, last_event_at: T(500) })).toEqual([['call.started', 0, 'queued']]);
    // Inbound and internal calls never have a request: nothing to wait for.
    expect(summary(snapshot({ call_id: 'pbx1:1764756000.12', requested_at: null, external_id: null, last_event_at: T(590) }))).toEqual([['call.started', 0, 'queued']]);
  });

  it('an ANSWERED record without a bridge (a context that answers by itself) is answered before it completes', () => {
    const inline = snapshot({ answered_at: T(1), ended_at: T(4), state: 'complete', cdr_seq: 4, disposition: 'ANSWERED', duration: 4 });
    expect(summary(inline).map(([t]) => t)).toEqual(['call.started', 'call.answered', 'call.completed']);
    expect(due(inline)[1].event.timestamp).toBe(T(1).toISOString());
  });

  it('waits for the CDR (or the grace period) before completing, and for parties and an account before starting', () => {
    const ended = snapshot({ bridged_at: T(5), ended_at: T(595), state: 'complete', end_cause: 16 });
    expect(summary(ended).map(([t]) => t)).toEqual(['call.started', 'call.answered']);
    expect(summary(ended, 1000).map(([t]) => t)).toEqual(['call.started', 'call.answered', 'call.completed']);
    expect(due({ ...ended, cdr_seq: null, reconciled: true }).map((a) => a.event.type)).toContain('call.completed');
    expect(due(snapshot({ src: null }))).toEqual([]);
    expect(due(snapshot({ account_id: null }))).toEqual([]);
    expect(due(snapshot({ has_call: false }))).toEqual([]);
    expect(due({ ...answered, crm_announced: [LEGACY] })).toEqual([]);
  });
});

describe('GET /v1/calls/<call_id> view', () => {
  it('follows the call through its states', () => {
    expect(callState(snapshot({ has_call: false, started_at: null }))).toBe('queued');
    expect(callState(snapshot({ has_call: false, request_status: 'rejected', request_error: 'Device not registered' }))).toBe('failed');
    expect(callState(snapshot())).toBe('queued');
    expect(callState(snapshot({ ringing_user_at: T(0) }))).toBe('ringing_user');
    expect(callState(snapshot({ ringing_user_at: T(0), ringing_customer_at: T(1) }))).toBe('ringing_customer');
    expect(callState(snapshot({ ringing_user_at: T(0), bridged_at: T(2) }))).toBe('answered');
    expect(callState(answered)).toBe('completed');
    expect(callState({ ...answered, disposition: 'FAILED' })).toBe('failed');
  });

  it('answers every field, in v1 time format', () => {
    const view = toCallDetails(answered, clock);
    expect(CallDetails.parse(view)).toEqual({
      call_id: 'c-1',
      external_id: 'crm-42',
      state: 'completed',
      reason: null,
      direction: 'outgoing',
      src: '401',
      dst: '79101234567',
      user: '1679728441',
      created_at: '2026-12-03 10:00:00',
      answered_at: '2026-12-03 10:00:05',
      ended_at: '2026-12-03 10:01:05',
      duration: 65,
      disposition: 'ANSWERED',
      rec_file: '/v1/users/1679728441/records/c-1.wav',
      transferred_to: null,
    });
    expect(toCallDetails({ ...answered, transferred_at: T(30), transferred_to: '7555374228', transferred_to_num: '902' }, clock).transferred_to).toBe('7555374228');
    const queued = toCallDetails(snapshot({ has_call: false, started_at: null }), clock);
    expect(queued).toMatchObject({ state: 'queued', answered_at: null, ended_at: null, duration: null, disposition: null, reason: null });
    const rejected = toCallDetails(snapshot({ has_call: false, request_status: 'rejected', request_error: 'Device not registered' }), clock);
    expect(rejected).toMatchObject({ state: 'failed', reason: 'Device not registered', disposition: 'FAILED', duration: 0 });
  });
});
