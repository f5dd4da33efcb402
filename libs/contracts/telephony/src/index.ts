import { z } from 'zod';
import { AccountId, DialNumber, EXTENSION_PATTERN, UserName, V1DateTime, command, event, healthSubject } from '@ringcloud/contracts-common';

/**
 * telephony-adapter: the only component that talks to Asterisk (AMI + realtime tables).
 * Commands are request/reply; facts about calls travel as durable JetStream events.
 */

/** Asterisk's own field names, as v1 shows one channel. */
export const ChannelInfo = z.object({
  Channel: z.string(),
  CallerIDNum: z.string(),
  CallerIDName: z.string(),
  ConnectedLineNum: z.string(),
  ConnectedLineName: z.string(),
  Seconds: z.number().int().nonnegative(),
});
export type ChannelInfo = z.infer<typeof ChannelInfo>;

/** A channel name as Asterisk prints it (`PJSIP/1679728441-00000012`, `Local/100@agents-00000001;1`). */
export const ChannelName = z.string().min(3).max(200).regex(/^[A-Za-z0-9_\-/@.;:+]+$/, 'malformed channel name');

export namespace TelephonyOriginate {
  /**
   * Rings the employee's device (leg A); when A answers, the account's dial plan dials `num`
   * (leg B). Answers once Asterisk has queued the originate; the outcome arrives as events.
   * NOT_FOUND for a user not provisioned in this account (never created, deleted, another tenant's,
   * or created a moment ago and not provisioned yet); BAD_REQUEST `NO_DEVICE` when its phone has no
   * contact; UNAVAILABLE when the PBX is down. `src` is the user's extension (the call's src): the
   * adapter knows it, so calls-service need not ask users-service on the way.
   */
  export const contract = command(
    'telephony.call.originate',
    z.object({ call_id: z.string().uuid(), account_id: AccountId, user: UserName, num: DialNumber }),
    z.object({ call_id: z.string(), action_id: z.string(), src: z.string() }),
  );
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
  /** v1's message for a user whose phone Asterisk would not ring. */
  export const NO_DEVICE = 'User has no registered device';
}

export namespace TelephonyChannelList {
  /** Live channels in the account's dial-plan context. */
  export const contract = command('telephony.channel.list', z.object({ account_id: AccountId }), z.array(z.string()));
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
}

export namespace TelephonyChannelGet {
  /** One live channel of the account; NOT_FOUND for unknown channels and other accounts' channels. */
  export const contract = command('telephony.channel.get', z.object({ account_id: AccountId, channel: ChannelName }), ChannelInfo);
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
}

/** Whether a user's SIP phone has a contact the PBX would ring (v1 extension `GET /v1/users/registrations`). */
export const UserRegistration = z.object({ user: z.string(), num: z.string(), registered: z.boolean() });
export type UserRegistration = z.infer<typeof UserRegistration>;

export namespace TelephonyRegistrationList {
  /**
   * The account's users provisioned on the PBX, by user name, each with its registration state as
   * the adapter tracks it (PJSIPShowContacts after every reconnect, then ContactStatus events).
   * UNAVAILABLE while the PBX session is down or its state is not known yet.
   */
  export const contract = command('telephony.registration.list', z.object({ account_id: AccountId }), z.array(UserRegistration));
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
}

export namespace TelephonyHealthPing {
  /** `ami` is false while the AMI session to the PBX is down. */
  export const contract = command(healthSubject('telephony'), z.object({}), z.object({ status: z.literal('ok'), ami: z.boolean() }));
  export const subject = contract.subject;
}

export const Direction = z.enum(['incoming', 'outgoing', 'internal']);
export type Direction = z.infer<typeof Direction>;

/**
 * The direction of a call an employee placed — a phone dialling, or `POST /v1/calls` — from the
 * number dialled: an extension is a colleague (`internal`, "between extensions" in v1), anything
 * else is outside (`outgoing`).
 */
export function dialledDirection(num: string): Extract<Direction, 'internal' | 'outgoing'> {
  return EXTENSION_PATTERN.test(num) ? 'internal' : 'outgoing';
}

export const Disposition = z.enum(['ANSWERED', 'NO ANSWER', 'BUSY', 'FAILED']);
export type Disposition = z.infer<typeof Disposition>;

/**
 * Every telephony event: a unique id (JetStream msgID, so re-publishing is harmless), the call it
 * belongs to and its sequence number within that call (consumers apply each (call_id, seq) once).
 * `call_id` is the RC_CALL_ID set at originate for calls the API started, otherwise
 * `<node>:<Linkedid>`.
 */
const Envelope = {
  event_id: z.string(),
  call_id: z.string(),
  seq: z.number().int().nonnegative(),
  node: z.string(),
  occurred_at: z.string(),
  account_id: z.number().int().nullable(),
};

export const CallStarted = event(
  'telephony.call.started',
  z.object({ ...Envelope, direction: Direction, src: z.string(), dst: z.string(), user: z.string().nullable(), linkedid: z.string() }),
);
/**
 * A party of the call is being rung: `user` — an employee's phone (an originate's first leg, or the
 * phone an inbound or internal call dials); `customer` — the number the call dials outside. Once per
 * party and call; `channel` is the channel being dialled.
 */
export const RingingParty = z.enum(['user', 'customer']);
export type RingingParty = z.infer<typeof RingingParty>;
/**
 * `direction` is the call's as known when the party rang: a customer rings after the dial plan chose
 * the route, which can correct the guess `started` made from the number (`777` no colleague has goes
 * out: `outgoing`). `user` is whose phone rings (party `user`), when it is a user's: an incoming call
 * is the user's it rang, even if its CDR never comes (it ended while the adapter was away). Both are
 * absent from adapters before they existed.
 */
export const CallRinging = event(
  'telephony.call.ringing',
  z.object({
    ...Envelope,
    party: RingingParty,
    channel: z.string(),
    direction: Direction.optional(),
    user: z.string().nullable().optional(),
    /** The called number as known now: for an incoming call, the extension that rings (the DID before). */
    dst: z.string().optional(),
  }),
);
export const CallAnswered = event('telephony.call.answered', z.object({ ...Envelope, channel: z.string() }));
export const CallBridged = event('telephony.call.bridged', z.object({ ...Envelope, bridge_id: z.string() }));
export const CallEnded = event(
  'telephony.call.ended',
  z.object({ ...Envelope, cause: z.number().int(), cause_txt: z.string(), /** true when found gone during a resync */ reconciled: z.boolean() }),
);
/** The call record, from Asterisk's Cdr event. Times are the PBX's local "YYYY-MM-DD HH:MM:SS". */
export const CallCdr = event(
  'telephony.call.cdr',
  z.object({
    ...Envelope,
    direction: Direction,
    src: z.string(),
    dst: z.string(),
    user: z.string().nullable(),
    start_time: V1DateTime,
    answer_time: V1DateTime.nullable(),
    end_time: V1DateTime,
    duration: z.number().int().nonnegative(),
    billsec: z.number().int().nonnegative(),
    disposition: Disposition,
    uniqueid: z.string(),
  }),
);
/**
 * A phone transferred the call (SIP REFER) and it went on: `to` is the extension it was sent to,
 * `to_user` the colleague whose phone took it (null when it is no user's), `by_user` the employee who
 * transferred it. `blind`: the colleague's phone was dialled (sent when it starts ringing); `attended`:
 * the employee had called the colleague first, and the caller joined them; `unseen`: it happened while
 * no adapter listened — found when a restarted one adopted the call (the employee's channel gone, a
 * colleague's phone in the call), how it was made unknown, sent then and dated when the colleague's
 * channel began. The call stays one call.
 */
export const TransferKind = z.enum(['blind', 'attended', 'unseen']);
export type TransferKind = z.infer<typeof TransferKind>;
export const CallTransferred = event(
  'telephony.call.transferred',
  z.object({ ...Envelope, kind: TransferKind, by_user: z.string().nullable(), to: z.string(), to_user: z.string().nullable() }),
);
/** A recording stored in the RECORDINGS object store bucket under `object_name`. */
export const RecordingFinished = event(
  'telephony.recording.finished',
  z.object({
    ...Envelope,
    user: z.string().nullable(),
    file_name: z.string(),
    object_name: z.string(),
    content_type: z.string(),
    size: z.number().int().nonnegative(),
    duration_s: z.number().nonnegative(),
    recorded_at: V1DateTime,
  }),
);

export const TELEPHONY_EVENTS_STREAM = {
  name: 'TELEPHONY_EVENTS',
  subjects: [
    CallStarted.subject,
    CallRinging.subject,
    CallAnswered.subject,
    CallBridged.subject,
    CallEnded.subject,
    CallCdr.subject,
    RecordingFinished.subject,
    CallTransferred.subject,
  ],
} as const;

/** JetStream object store bucket holding call recordings (durable shared storage). */
export const RECORDINGS_BUCKET = 'RECORDINGS';
