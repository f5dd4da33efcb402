import { randomUUID } from 'node:crypto';
import type { JetStreamClient } from '@nats-io/jetstream';
import { CallAnswered, CallBridged, CallCdr, CallEnded, CallRinging, CallStarted, CallTransferred, Direction, Disposition, RecordingFinished, RingingParty } from '@ringcloud/contracts-telephony';
import { PbxClock } from '../time/pbx-clock';

export interface CallSpec {
  callId: string;
  account: number | null;
  user: string | null;
  src: string;
  dst: string;
  direction: Direction;
  start: Date;
  /** When the called party answered; null for unanswered calls. */
  answer: Date | null;
  end: Date;
  disposition: Disposition;
  cause?: number;
  causeTxt?: string;
  recording?: { fileName: string; user?: string | null; account?: number | null; durationS?: number };
  /** Parties rung (telephony.call.ringing), in order: the user's right after the start, the customer's after. */
  ringing?: RingingParty[];
  /** The colleague(s) a phone transferred the answered call to (telephony.call.transferred), one a second from the answer on. */
  transferredTo?: { user: string; num: string } | Array<{ user: string; num: string }>;
}

export interface Published {
  subject: string;
  payload: Record<string, unknown>;
}

let counter = 0;
export const newCallId = () => `pbx1:${Date.now()}.${++counter}`;

/**
 * An answered outgoing call of user 1679728441 (account 1001, extension 401) to 79101234567, unless
 * `over` says otherwise: started `agoS` seconds ago (or at `over.start`), answered `answerAfterS`
 * after its start, ended `endAfterS` after it.
 */
export function answeredCall(over: Partial<CallSpec> = {}, { agoS = 120, answerAfterS = 5, endAfterS = 65 } = {}): CallSpec {
  const start = over.start ?? new Date(Date.now() - agoS * 1000);
  return {
    callId: newCallId(),
    account: 1001,
    user: '1679728441',
    src: '401',
    dst: '79101234567',
    direction: 'outgoing',
    answer: new Date(start.getTime() + answerAfterS * 1000),
    end: new Date(start.getTime() + endAfterS * 1000),
    disposition: 'ANSWERED',
    ...over,
    start,
  };
}

/** The events the telephony adapter publishes for one call, in the order it publishes them. */
export function callEvents(spec: CallSpec, clock: PbxClock): Published[] {
  let seq = 0;
  const envelope = (at: Date) => ({
    event_id: randomUUID(),
    call_id: spec.callId,
    seq: ++seq,
    node: 'pbx1',
    occurred_at: at.toISOString(),
    account_id: spec.account,
  });
  const events: Published[] = [
    {
      subject: CallStarted.subject,
      payload: { ...envelope(spec.start), direction: spec.direction, src: spec.src, dst: spec.dst, user: spec.user, linkedid: spec.callId.split(':')[1] ?? spec.callId },
    },
  ];
  for (const party of spec.ringing ?? []) {
    const at = new Date(spec.start.getTime() + (party === 'user' ? 100 : 2000));
    events.push({ subject: CallRinging.subject, payload: { ...envelope(at), party, channel: party === 'user' ? `PJSIP/${spec.user}-00000001` : 'PJSIP/trunk-00000002', direction: spec.direction, user: party === 'user' ? spec.user : null } });
  }
  if (spec.answer) {
    events.push({ subject: CallAnswered.subject, payload: { ...envelope(spec.answer), channel: `PJSIP/${spec.user}-00000001` } });
    events.push({ subject: CallBridged.subject, payload: { ...envelope(spec.answer), bridge_id: randomUUID() } });
    let by = spec.user;
    for (const [i, { user, num }] of [spec.transferredTo ?? []].flat().entries()) {
      const at = new Date(spec.answer.getTime() + 1000 * (i + 1));
      events.push({ subject: CallTransferred.subject, payload: { ...envelope(at), kind: 'blind', by_user: by, to: num, to_user: user } });
      by = user;
    }
  }
  events.push({
    subject: CallEnded.subject,
    payload: { ...envelope(spec.end), cause: spec.cause ?? 16, cause_txt: spec.causeTxt ?? 'Normal Clearing', reconciled: false },
  });
  const duration = Math.round((spec.end.getTime() - spec.start.getTime()) / 1000);
  events.push({
    subject: CallCdr.subject,
    payload: {
      ...envelope(spec.end),
      direction: spec.direction,
      src: spec.src,
      dst: spec.dst,
      user: spec.user,
      start_time: clock.format(spec.start),
      answer_time: spec.answer ? clock.format(spec.answer) : null,
      end_time: clock.format(spec.end),
      duration,
      billsec: spec.answer ? Math.round((spec.end.getTime() - spec.answer.getTime()) / 1000) : 0,
      disposition: spec.disposition,
      uniqueid: `${spec.callId}.0`,
    },
  });
  if (spec.recording) {
    const account = spec.recording.account === undefined ? spec.account : spec.recording.account;
    events.push({
      subject: RecordingFinished.subject,
      payload: {
        ...envelope(spec.end),
        account_id: account,
        user: spec.recording.user === undefined ? spec.user : spec.recording.user,
        file_name: spec.recording.fileName,
        object_name: `${account}/${spec.recording.fileName}`,
        content_type: 'audio/wav',
        size: 48_044,
        duration_s: spec.recording.durationS ?? 3,
        recorded_at: clock.format(spec.end),
      },
    });
  }
  return events;
}

/** Publishes like the adapter: msgID = event_id (a suffix makes a re-publication JetStream does not deduplicate). */
export async function publishAll(js: JetStreamClient, events: Published[], msgIdSuffix = ''): Promise<void> {
  const acks = events.map((e) => js.publish(e.subject, JSON.stringify(e.payload), { msgID: `${e.payload.event_id}${msgIdSuffix}` }));
  await Promise.all(acks);
}

export function publishRaw(js: JetStreamClient, subject: string, data: string): Promise<unknown> {
  return js.publish(subject, data, { msgID: randomUUID() });
}
