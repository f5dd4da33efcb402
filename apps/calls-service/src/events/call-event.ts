import { z } from 'zod';
import { firstIssueMessage } from '@ringcloud/contracts-common';
import { RecordingFileName } from '@ringcloud/contracts-calls';
import { CallAnswered, CallBridged, CallCdr, CallEnded, CallRinging, CallStarted, CallTransferred, Direction, Disposition, RecordingFinished, RingingParty } from '@ringcloud/contracts-telephony';
import { PbxClock, parseOccurredAt } from '../time/pbx-clock';

/** What every telephony event tells, with times as instants. */
interface Envelope {
  eventId: string;
  callId: string;
  seq: number;
  node: string;
  accountId: number | null;
  at: Date;
}

export type CallEvent =
  | (Envelope & { type: 'started'; direction: Direction; src: string; dst: string; user: string | null; linkedid: string })
  | (Envelope & { type: 'ringing'; party: RingingParty; direction: Direction | null; user: string | null; dst: string | null })
  | (Envelope & { type: 'answered' })
  | (Envelope & { type: 'bridged' })
  | (Envelope & { type: 'ended'; cause: number; causeTxt: string; reconciled: boolean })
  | (Envelope & { type: 'transferred'; toUser: string | null; toNum: string })
  | (Envelope & {
      type: 'cdr';
      direction: Direction;
      src: string;
      dst: string;
      user: string | null;
      startedAt: Date;
      answeredAt: Date | null;
      endedAt: Date;
      duration: number;
      billsec: number;
      disposition: Disposition;
      uniqueid: string;
    })
  | (Envelope & {
      type: 'recording';
      user: string | null;
      fileName: string;
      objectName: string;
      contentType: string;
      size: number;
      durationS: number;
      recordedAt: Date;
    });

export type ParseResult = { ok: true; event: CallEvent } | { ok: false; reason: string };

const INT4_MAX = 2_147_483_647;
/** Limits of the columns the event lands in; the contract alone would let a DB error turn it into a retry loop. */
const Storable = z.object({
  call_id: z.string().min(1).max(200),
  seq: z.number().max(INT4_MAX),
  account_id: z.number().int().positive().max(INT4_MAX).nullable(),
});

const SCHEMAS = new Map<string, z.ZodType>([
  [CallStarted.subject, CallStarted.event],
  [CallRinging.subject, CallRinging.event],
  [CallAnswered.subject, CallAnswered.event],
  [CallBridged.subject, CallBridged.event],
  [CallEnded.subject, CallEnded.event],
  [CallCdr.subject, CallCdr.event],
  // What lands in the call's row: a user name, and an extension as dialled (a REFER's digits).
  [CallTransferred.subject, CallTransferred.event.and(z.object({ to: z.string().max(40), to_user: z.string().max(64).nullable() }))],
  [RecordingFinished.subject, RecordingFinished.event.and(z.object({ file_name: RecordingFileName }))],
]);

/**
 * Decodes one JetStream message into a CallEvent, or says why it can never be applied (unknown
 * subject, not JSON, not the contract's shape, impossible times): such a message is a poison
 * message and is terminated, not retried.
 */
export function parseCallEvent(subject: string, data: Uint8Array, clock: PbxClock, storedAt: Date): ParseResult {
  const schema = SCHEMAS.get(subject);
  if (!schema) return { ok: false, reason: `unexpected subject ${subject}` };
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(data));
  } catch {
    return { ok: false, reason: 'payload is not JSON' };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) return { ok: false, reason: describeIssue(parsed.error) };
  const storable = Storable.safeParse(parsed.data);
  if (!storable.success) return { ok: false, reason: describeIssue(storable.error) };
  try {
    return { ok: true, event: toCallEvent(subject, parsed.data as Record<string, any>, clock, storedAt) };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
}

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue ? `${issue.path.join('.') || 'payload'}: ${firstIssueMessage(error)}` : 'invalid payload';
}

function toCallEvent(subject: string, e: Record<string, any>, clock: PbxClock, storedAt: Date): CallEvent {
  const envelope: Envelope = {
    eventId: e.event_id,
    callId: e.call_id,
    seq: e.seq,
    node: e.node,
    accountId: e.account_id,
    at: parseOccurredAt(e.occurred_at, clock, storedAt),
  };
  switch (subject) {
    case CallStarted.subject:
      return { ...envelope, type: 'started', direction: e.direction, src: e.src, dst: e.dst, user: e.user, linkedid: e.linkedid };
    case CallRinging.subject:
      return { ...envelope, type: 'ringing', party: e.party, direction: e.direction ?? null, user: e.user ?? null, dst: e.dst ?? null };
    case CallAnswered.subject:
      return { ...envelope, type: 'answered' };
    case CallBridged.subject:
      return { ...envelope, type: 'bridged' };
    case CallEnded.subject:
      return { ...envelope, type: 'ended', cause: e.cause, causeTxt: e.cause_txt.slice(0, 200), reconciled: e.reconciled };
    case CallTransferred.subject:
      return { ...envelope, type: 'transferred', toUser: e.to_user, toNum: e.to };
    case CallCdr.subject:
      return {
        ...envelope,
        type: 'cdr',
        direction: e.direction,
        src: e.src,
        dst: e.dst,
        user: e.user,
        startedAt: clock.parse(e.start_time),
        answeredAt: e.answer_time === null ? null : clock.parse(e.answer_time),
        endedAt: clock.parse(e.end_time),
        duration: Math.min(e.duration, INT4_MAX),
        billsec: Math.min(e.billsec, INT4_MAX),
        disposition: e.disposition,
        uniqueid: e.uniqueid,
      };
    default:
      return {
        ...envelope,
        type: 'recording',
        user: e.user,
        fileName: e.file_name,
        objectName: e.object_name,
        contentType: e.content_type,
        size: e.size,
        durationS: e.duration_s,
        recordedAt: clock.parse(e.recorded_at),
      };
  }
}
