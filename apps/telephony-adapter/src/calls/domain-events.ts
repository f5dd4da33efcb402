import type { EventOf } from '@ringcloud/contracts-common';
import { CallAnswered, CallBridged, CallCdr, CallEnded, CallRinging, CallStarted, CallTransferred, RecordingFinished } from '@ringcloud/contracts-telephony';

/** The telephony events of the contract, tagged by kind, as the normaliser produces them. */
export type TelephonyDomainEvent =
  | { kind: 'started'; payload: EventOf<typeof CallStarted> }
  | { kind: 'ringing'; payload: EventOf<typeof CallRinging> }
  | { kind: 'answered'; payload: EventOf<typeof CallAnswered> }
  | { kind: 'bridged'; payload: EventOf<typeof CallBridged> }
  | { kind: 'ended'; payload: EventOf<typeof CallEnded> }
  | { kind: 'transferred'; payload: EventOf<typeof CallTransferred> }
  | { kind: 'cdr'; payload: EventOf<typeof CallCdr> }
  | { kind: 'recording.finished'; payload: EventOf<typeof RecordingFinished> };

export type TelephonyEventKind = TelephonyDomainEvent['kind'];

export const EVENT_CONTRACTS = {
  started: CallStarted,
  ringing: CallRinging,
  answered: CallAnswered,
  bridged: CallBridged,
  ended: CallEnded,
  transferred: CallTransferred,
  cdr: CallCdr,
  'recording.finished': RecordingFinished,
} as const;

/** What every telephony event carries (see the contract's Envelope). */
export interface Envelope {
  event_id: string;
  call_id: string;
  seq: number;
  node: string;
  occurred_at: string;
  account_id: number | null;
}

/**
 * A recording to store once its file is complete. Its envelope is made at hang-up; its `seq` is
 * only a fallback: the real one is taken when the event is published (CallNormaliser.takeSeq), so
 * a call's events reach the stream in seq order even though storing takes a while.
 */
export interface RecordingJob {
  /** The normaliser's key of the call (its Linkedid). */
  callKey: string;
  envelope: Envelope;
  user: string | null;
  fileName: string;
  /**
   * Later parts of the same recording, in order (files in the same folder): a transfer took away the
   * channel the first was recorded on, and the rest was recorded on the channel that stayed.
   * Stored as one recording under `fileName`.
   */
  continuation?: string[];
  channel: string;
  /** PBX local time "YYYY-MM-DD HH:MM:SS" the recording started. */
  recordedAt: string;
}

/** "YYYY-MM-DD HH:MM:SS" in this process's time zone (run the adapter with the PBX's TZ, like its CDRs). */
export function localDateTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
