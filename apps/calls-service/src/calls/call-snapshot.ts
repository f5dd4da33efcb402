import type { CallDetails, CallState, CompletedCall } from '@ringcloud/contracts-calls';
import type { Disposition } from '@ringcloud/contracts-telephony';
import { PbxClock } from '../time/pbx-clock';
import { provisionalDisposition } from './disposition';

/**
 * Everything known about one call: its `calls` row (null while an originate has no PBX event yet),
 * its originate request (null for calls the PBX started) and its first real recording.
 */
export interface CallSnapshot {
  call_id: string;
  account_id: number | null;
  /** false: only the originate request exists. */
  has_call: boolean;
  direction: string | null;
  src: string | null;
  dst: string | null;
  user_name: string | null;
  started_at: Date | null;
  ringing_user_at: Date | null;
  ringing_customer_at: Date | null;
  /** The call's last transfer by a phone: when, to whom (a user, or null) and which extension. */
  transferred_at: Date | null;
  transferred_to: string | null;
  transferred_to_num: string | null;
  answered_at: Date | null;
  bridged_at: Date | null;
  ended_at: Date | null;
  end_cause: number | null;
  end_cause_txt: string | null;
  reconciled: boolean;
  duration: number | null;
  disposition: string | null;
  /** active | complete (null without a call row) */
  state: string | null;
  cdr_seq: number | null;
  crm_announced: string[];
  crm_next_seq: number;
  external_id: string | null;
  requested_at: Date | null;
  request_status: string | null;
  request_error: string | null;
  /** The call's first recording with audio in it, and the user it is filed under. */
  rec_file_name: string | null;
  rec_user: string | null;
  /** When the call row last changed (its last telephony event). */
  last_event_at: Date | null;
  /**
   * Every telephony event of the call from its `started` up to the last one applied is in: none is
   * still on its way (redelivered after a crash, say). Until then what is known may lack a stage.
   */
  events_complete: boolean;
}

/** A call that has ended and shows in `GET /v1/calls/complete` (the CDR is in, or it cannot come any more). */
export function isListedComplete(s: CallSnapshot, now: Date, cdrGraceMs: number): boolean {
  return (
    s.state === 'complete' &&
    s.ended_at !== null &&
    s.started_at !== null &&
    s.src !== null &&
    s.dst !== null &&
    s.direction !== null &&
    (s.cdr_seq !== null || s.reconciled || s.ended_at.getTime() < now.getTime() - cdrGraceMs)
  );
}

export function dispositionOf(s: Pick<CallSnapshot, 'disposition' | 'bridged_at' | 'answered_at' | 'end_cause'>): Disposition {
  // Without a CDR (yet) the disposition comes from the call's events.
  return (s.disposition as Disposition | null) ?? provisionalDisposition({ bridgedAt: s.bridged_at, answeredAt: s.answered_at, endCause: s.end_cause });
}

export const recFile = (s: Pick<CallSnapshot, 'rec_file_name' | 'rec_user'>): string | null =>
  s.rec_file_name && s.rec_user ? `/v1/users/${s.rec_user}/records/${s.rec_file_name}` : null;

/** Causes that say nothing about why a call failed (normal clearing, unknown). */
const UNINFORMATIVE_CAUSES = new Set([0, 16]);

/** Why a call failed, in words a CRM can show. */
export function failureReason(s: CallSnapshot): string {
  if (!s.has_call && s.request_error) return s.request_error;
  if (s.end_cause !== null && !UNINFORMATIVE_CAUSES.has(s.end_cause) && s.end_cause_txt) return s.end_cause_txt;
  return 'The call could not be connected';
}

/** The state of a call a CRM sees (docs/events.md): the furthest it got. */
export function callState(s: CallSnapshot): CallState {
  if (!s.has_call) return s.request_status === 'rejected' || s.request_status === 'failed' ? 'failed' : 'queued';
  if (s.state === 'complete') return dispositionOf(s) === 'FAILED' ? 'failed' : 'completed';
  if (s.bridged_at) return 'answered';
  if (s.ringing_customer_at) return 'ringing_customer';
  if (s.ringing_user_at) return 'ringing_user';
  return 'queued';
}

type CompletedSource = Pick<
  CallSnapshot,
  | 'call_id'
  | 'external_id'
  | 'direction'
  | 'src'
  | 'dst'
  | 'started_at'
  | 'answered_at'
  | 'bridged_at'
  | 'ended_at'
  | 'end_cause'
  | 'duration'
  | 'disposition'
  | 'rec_file_name'
  | 'rec_user'
  | 'transferred_to'
>;

/** The v1 completed-call object (`GET /v1/calls/complete`) of a call that `isListedComplete`. */
export function toCompletedCall(s: CompletedSource, clock: PbxClock): CompletedCall {
  const endedAt = s.ended_at!;
  const startedAt = s.started_at!;
  return {
    status: 'complete',
    src: s.src!,
    dst: s.dst!,
    direction: s.direction as CompletedCall['direction'],
    call_start_time: clock.format(startedAt),
    call_end_time: clock.format(endedAt),
    duration: s.duration ?? Math.max(0, Math.round((endedAt.getTime() - startedAt.getTime()) / 1000)),
    disposition: dispositionOf(s),
    rec_file: recFile(s),
    call_id: s.call_id,
    external_id: s.external_id,
    transferred_to: s.transferred_to,
  };
}

/** `GET /v1/calls/<call_id>`. */
export function toCallDetails(s: CallSnapshot, clock: PbxClock): CallDetails {
  const state = callState(s);
  const over = state === 'completed' || state === 'failed';
  const ended = s.has_call && s.state === 'complete' && s.ended_at !== null;
  const disposition = ended ? dispositionOf(s) : over ? 'FAILED' : null;
  const start = s.requested_at ?? s.started_at;
  const answeredAt = s.bridged_at ?? (ended && disposition === 'ANSWERED' ? s.answered_at : null);
  const duration = ended && (s.started_at || s.duration !== null) ? (s.duration ?? Math.max(0, Math.round((s.ended_at!.getTime() - s.started_at!.getTime()) / 1000))) : over ? 0 : null;
  return {
    call_id: s.call_id,
    external_id: s.external_id,
    state,
    reason: state === 'failed' ? failureReason(s) : null,
    direction: (s.direction as CallDetails['direction']) ?? null,
    src: s.src,
    dst: s.dst,
    user: s.user_name,
    created_at: start ? clock.format(start) : null,
    answered_at: answeredAt ? clock.format(answeredAt) : null,
    ended_at: ended ? clock.format(s.ended_at!) : null,
    duration,
    disposition,
    rec_file: recFile(s),
    transferred_to: s.transferred_to,
  };
}
