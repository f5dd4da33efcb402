import { z } from 'zod';
import { AccountId, DialNumber, ErrorCode, Page, PageRequest, UserName, V1DateTime, command, healthSubject } from '@ringcloud/contracts-common';

/** calls-service: originate requests, call records, active calls, recordings metadata. */

/** The CRM's own tag of a call (`params.external_id`): 1 to 64 printable ASCII characters. */
export const ExternalId = z
  .string({ error: 'external_id must be a string of 1 to 64 printable ASCII characters' })
  .regex(/^[\x20-\x7e]{1,64}$/, 'external_id must be 1 to 64 printable ASCII characters');

/**
 * A call's id: the UUID `POST /v1/calls` answers in `X-Call-Id`, or `<node>:<linkedid>` for calls
 * the PBX started (inbound, internal).
 */
export const CallId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/, 'malformed call id');

const USER_NAME_MESSAGE = 'user must be a numeric user name';

/** v1 `POST /v1/calls` params. `user` may arrive as a JSON number from loose clients. */
export const OriginateParams = z.object({
  user: z
    .union([z.string(), z.number().int(USER_NAME_MESSAGE).nonnegative(USER_NAME_MESSAGE)], { error: USER_NAME_MESSAGE })
    .transform(String)
    .pipe(UserName),
  num: DialNumber,
  /** Extension: the CRM's tag, shown with the call and in its events; null = none. */
  external_id: ExternalId.nullish(),
});

/** v1's answer to `POST /v1/calls` (the new call's id goes in X-Call-Id). */
export const ORIGINATE_QUEUED = 'Originate successfully queued';
const OriginateQueued = z.object({ call_id: z.string(), message: z.literal(ORIGINATE_QUEUED) });

export namespace CallsOriginate {
  /**
   * Asks the telephony adapter to originate, then records the request: the gateways of the
   * previous release send this (the current one sends `telephony.call.originate` itself and then
   * CallsOriginateRecord); kept so a rolling update never breaks `POST /v1/calls`.
   * Unknown user → BAD_REQUEST; unregistered device → BAD_REQUEST; PBX down → UNAVAILABLE.
   */
  export const contract = command(
    'calls.call.originate',
    z.object({ account_id: AccountId, user: UserName, num: DialNumber, external_id: ExternalId.nullish() }),
    OriginateQueued,
  );
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
}

/** What the telephony adapter answered to an originate: queued (its action id, the user's extension), or its error. */
export const OriginateOutcome = z.discriminatedUnion('status', [
  z.object({ status: z.literal('queued'), action_id: z.string().min(1).max(100), src: z.string().max(40) }),
  z.object({
    status: z.literal('refused'),
    error: z.object({ code: z.enum(Object.values(ErrorCode) as [ErrorCode, ...ErrorCode[]]), message: z.string().max(500) }),
  }),
]);
export type OriginateOutcome = z.output<typeof OriginateOutcome>;

export namespace CallsOriginateRecord {
  /**
   * `POST /v1/calls` after the fact: the gateway sends the originate straight to the telephony
   * adapter (nothing else between the request and the ringing phone) and then records it here with
   * the adapter's outcome. Queued → the call's answer; refused → the error for the client (a user
   * the PBX does not know is "Unknown user", or "User has no registered device" when users-service
   * has it but the PBX not yet).
   */
  export const contract = command(
    'calls.call.originate.record',
    z.object({
      call_id: z.string().uuid(),
      account_id: AccountId,
      user: UserName,
      num: DialNumber,
      external_id: ExternalId.nullish(),
      outcome: OriginateOutcome,
      /** When the client's request reached the gateway (ISO 8601): the call's created_at, even when recorded late. */
      requested_at: z.iso.datetime({ offset: true }).optional(),
    }),
    OriginateQueued,
  );
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
}

export const ActiveCall = z.object({
  src: z.string(),
  dst: z.string(),
  seconds: z.number().int().nonnegative(),
  status: z.literal('current'),
  call_id: z.string(),
  external_id: z.string().nullable(),
});
export type ActiveCall = z.infer<typeof ActiveCall>;

export namespace CallsActiveList {
  export const contract = command('calls.active.list', z.object({ account_id: AccountId }), z.array(ActiveCall));
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
}

/** Who called whom, as v1 lists it (the telephony contract's Direction; contracts depend on common only). */
export const CallDirection = z.enum(['incoming', 'outgoing', 'internal']);

/**
 * The calls of one PBX node that calls-service still holds active, for the node's telephony adapter
 * to reconcile after a resync: one it does not know (it restarted meanwhile) and the PBX does not
 * have either ended while nobody listened, and is ended `reconciled` by the adapter. One the PBX
 * still has is adopted as it was described before the restart (direction, parties, a transfer).
 */
export const OpenCall = z.object({
  call_id: z.string(),
  account_id: z.number().int().nullable(),
  linkedid: z.string().nullable(),
  direction: CallDirection.nullable().optional(),
  src: z.string().nullable().optional(),
  dst: z.string().nullable().optional(),
  user: z.string().nullable().optional(),
  /** A phone transferred it: its record is every CDR of its channels. */
  transferred: z.boolean().optional(),
  /** When it began and was answered (ISO 8601): the CDRs left after an adoption may begin later. */
  started_at: z.string().nullable().optional(),
  answered_at: z.string().nullable().optional(),
});
export type OpenCall = z.infer<typeof OpenCall>;

export namespace CallsOpenOnNode {
  export const contract = command('calls.open.on_node', z.object({ node: z.string().min(1).max(64) }), z.array(OpenCall));
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
}

export const CompletedCall = z.object({
  status: z.literal('complete'),
  src: z.string(),
  dst: z.string(),
  direction: CallDirection,
  call_start_time: V1DateTime,
  call_end_time: V1DateTime,
  duration: z.number().int().nonnegative(),
  disposition: z.enum(['ANSWERED', 'NO ANSWER', 'BUSY', 'FAILED']),
  rec_file: z.string().nullable(),
  call_id: z.string(),
  external_id: z.string().nullable(),
  /** The colleague (user) a phone transferred the call to — the last one, if again — or null. */
  transferred_to: z.string().nullable(),
});
export type CompletedCall = z.infer<typeof CompletedCall>;

/** v1 query of `GET /v1/calls/complete`: days 1–7 (default 7), num matches src or dst. */
export const CompletedQuery = z.object({
  days: z.coerce
    .number({ error: 'days must be a whole number from 1 to 7' })
    .int('days must be a whole number from 1 to 7')
    .min(1, 'days must be a whole number from 1 to 7')
    .max(7, 'days must be a whole number from 1 to 7')
    .default(7),
  num: z.string().regex(/^\+?[0-9]{2,20}$/, 'num must be 2 to 20 digits with an optional leading +').optional(),
});

/** Where a call is: see docs/events.md. `failed`: it could not be connected (`reason` says why). */
export const CallState = z.enum(['queued', 'ringing_user', 'ringing_customer', 'answered', 'completed', 'failed']);
export type CallState = z.infer<typeof CallState>;

/** `GET /v1/calls/<call_id>`: one call, whatever its state. Times as v1 shows them (PBX wall clock). */
export const CallDetails = z.object({
  call_id: z.string(),
  external_id: z.string().nullable(),
  state: CallState,
  /** Why the call failed; null unless `state` is `failed`. */
  reason: z.string().nullable(),
  direction: CallDirection.nullable(),
  src: z.string().nullable(),
  dst: z.string().nullable(),
  user: z.string().nullable(),
  created_at: V1DateTime.nullable(),
  /** When the conversation began (both parties connected). */
  answered_at: V1DateTime.nullable(),
  ended_at: V1DateTime.nullable(),
  /** Seconds from start to end, once the call is over. */
  duration: z.number().int().nonnegative().nullable(),
  disposition: z.enum(['ANSWERED', 'NO ANSWER', 'BUSY', 'FAILED']).nullable(),
  rec_file: z.string().nullable(),
  /** The colleague (user) a phone transferred the call to — the last one, if again — or null. */
  transferred_to: z.string().nullable(),
});
export type CallDetails = z.infer<typeof CallDetails>;

export namespace CallsCallGet {
  /** One call of the account; NOT_FOUND for unknown ids and other accounts' calls alike. */
  export const contract = command('calls.call.get', z.object({ account_id: AccountId, call_id: CallId }), CallDetails);
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
}

/** v1's completed-calls list without `limit`: the newest this many calls of the period. */
export const COMPLETED_LIST_MAX = 3000;

export namespace CallsCompleteList {
  export const contract = command('calls.complete.list', z.object({ account_id: AccountId, ...CompletedQuery.shape }), z.array(CompletedCall));
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
}

/** One page of `calls.complete.list` (same order), `GET /v1/calls/complete?limit=…&cursor=…`. */
export namespace CallsCompletePage {
  export const contract = command(
    'calls.complete.list_page',
    z.object({ account_id: AccountId, ...CompletedQuery.shape, page: PageRequest }),
    Page(CompletedCall),
  );
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
}

/** A recording's file name as v1 shows it: no path, no traversal. */
export const RecordingFileName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/).refine((v) => !v.includes('..'));

export namespace CallsRecordingList {
  /** `[file_name, "YYYY-MM-DD HH:MM:SS"]` pairs, newest first. */
  export const contract = command('calls.recording.list', z.object({ account_id: AccountId, user: UserName }), z.array(z.tuple([z.string(), V1DateTime])));
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
}

export namespace CallsRecordingGet {
  /** Where one recording is stored; NOT_FOUND unless it belongs to this user of this account. */
  export const contract = command(
    'calls.recording.get',
    z.object({ account_id: AccountId, user: UserName, file_name: RecordingFileName }),
    z.object({ file_name: z.string(), object_name: z.string(), content_type: z.string(), size: z.number().int().nonnegative() }),
  );
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
}

export namespace CallsHealthPing {
  export const contract = command(healthSubject('calls'), z.object({}), z.object({ status: z.literal('ok') }));
  export const subject = contract.subject;
}
