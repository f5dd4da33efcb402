import { CrmEvent, CrmEventType, crmEventId } from '@ringcloud/contracts-events';
import type { CallState } from '@ringcloud/contracts-calls';
import { CallSnapshot, callState, dispositionOf, failureReason, isListedComplete, recFile, toCompletedCall } from '../calls/call-snapshot';
import { isOriginatedCallId } from '../calls/originated-call-id';
import { PbxClock } from '../time/pbx-clock';

/**
 * The CRM's view of a call is a fixed sequence of stages; each is announced at most once, in this
 * order, numbered 0, 1, 2… (`sequence`) as it goes out. A stage whose fact arrives after a later
 * stage was announced (events that overtook each other) is skipped rather than told out of order.
 */
export const STAGES = ['started', 'ringing.user', 'ringing.customer', 'answered', 'transferred', 'completed', 'recording'] as const;
export type Stage = (typeof STAGES)[number];

/** Marks calls that existed before CRM events did: nothing is announced for them. */
export const LEGACY = 'legacy';

export interface Announcement {
  stage: Stage;
  /** The producer's fact id: the event's id and the outbox row's id derive from it. */
  factId: string;
  event: CrmEvent;
}

export interface StageOptions {
  clock: PbxClock;
  now: Date;
  cdrGraceMs: number;
  /**
   * How long to wait for a call's missing telephony events (a hole in its seqs: an event pulled by a
   * replica that died is redelivered after the consumer's ack_wait) before announcing without them.
   */
  holdMs: number;
}

/**
 * What is due for this call now and was not announced yet, in order, with sequences continuing
 * from `crm_next_seq`. Nothing is announced before the call's account and parties are known.
 */
export function dueAnnouncements(s: CallSnapshot, opts: StageOptions): Announcement[] {
  if (!s.has_call || s.account_id === null || s.crm_announced.includes(LEGACY)) return [];
  if (!s.direction || s.src === null || s.dst === null || !s.started_at) return [];
  // Announcing now could skip a stage whose event is still on its way: wait for it (not forever).
  if (!s.events_complete && s.last_event_at && s.last_event_at.getTime() > opts.now.getTime() - opts.holdMs) return [];
  // The API's originate records its request once the PBX has the call (to keep the request's path
  // short): events may come first. The request brings the CRM's external_id, so wait for it — the
  // originate announces the call itself once the request is stored (not forever: it may have failed).
  if (s.requested_at === null && isOriginatedCallId(s.call_id) && s.last_event_at && s.last_event_at.getTime() > opts.now.getTime() - opts.holdMs) return [];
  const listed = isListedComplete(s, opts.now, opts.cdrGraceMs);
  const answeredAt = s.bridged_at ?? (listed && dispositionOf(s) === 'ANSWERED' ? (s.answered_at ?? s.ended_at) : null);
  const facts: Record<Stage, Date | null> = {
    started: s.started_at,
    'ringing.user': s.ringing_user_at,
    'ringing.customer': s.ringing_customer_at,
    // A call answered without a bridge (a context that answers by itself) is still answered once its record says so.
    answered: answeredAt,
    // A phone transferred the call while it went on (the first time: a stage is told once).
    transferred: s.transferred_at,
    completed: listed ? s.ended_at : null,
    recording: listed && recFile(s) ? s.ended_at : null,
  };
  let furthest = Math.max(-1, ...s.crm_announced.map((a) => STAGES.indexOf(a as Stage)));
  let sequence = s.crm_next_seq;
  const out: Announcement[] = [];
  STAGES.forEach((stage, index) => {
    const at = facts[stage];
    if (!at || index <= furthest) return;
    furthest = index;
    const factId = `calls:${s.call_id}:${stage}`;
    out.push({
      stage,
      factId,
      event: { id: crmEventId(factId), type: typeOf(stage), timestamp: at.toISOString(), account_id: s.account_id!, data: dataOf(stage, s, sequence++, opts) },
    });
  });
  return out;
}

function typeOf(stage: Stage): CrmEventType {
  if (stage === 'ringing.user' || stage === 'ringing.customer') return 'call.ringing';
  if (stage === 'recording') return 'recording.ready';
  return `call.${stage}`;
}

/** The state a stage moves the call into. */
const STATE_OF: Record<Exclude<Stage, 'completed' | 'recording'>, CallState> = {
  started: 'queued',
  'ringing.user': 'ringing_user',
  'ringing.customer': 'ringing_customer',
  answered: 'answered',
  transferred: 'answered',
};

function dataOf(stage: Stage, s: CallSnapshot, sequence: number, opts: StageOptions): Record<string, unknown> {
  if (stage === 'completed') {
    const state = callState(s);
    return { ...toCompletedCall(s, opts.clock), sequence, state, ...(state === 'failed' ? { reason: failureReason(s) } : {}) };
  }
  if (stage === 'recording') return { call_id: s.call_id, sequence, user: s.rec_user, rec_file: recFile(s) };
  const data: Record<string, unknown> = {
    call_id: s.call_id,
    sequence,
    direction: s.direction,
    src: s.src,
    dst: s.dst,
    user: s.user_name,
    external_id: s.external_id,
    state: STATE_OF[stage],
  };
  if (stage === 'ringing.user' || stage === 'ringing.customer') data.party = stage === 'ringing.user' ? 'user' : 'customer';
  if (stage === 'transferred') Object.assign(data, { to_user: s.transferred_to, to: s.transferred_to_num });
  return data;
}
