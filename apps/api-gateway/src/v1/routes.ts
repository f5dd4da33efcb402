import { z } from 'zod';
import type { RpcClient } from '@ringcloud/nest-nats';
import { Access, UserName, V1DateTime, firstIssueMessage } from '@ringcloud/contracts-common';
import {
  ActiveCall,
  CallsActiveList,
  CallId,
  COMPLETED_LIST_MAX,
  CallsCompletePage,
  CallsRecordingGet,
  CallsRecordingList,
  CompletedCall,
  CompletedQuery,
  ORIGINATE_QUEUED,
  OriginateParams,
  RecordingFileName,
} from '@ringcloud/contracts-calls';
import { ChannelInfo, ChannelName as TelephonyChannelName, TelephonyChannelGet, TelephonyChannelList } from '@ringcloud/contracts-telephony';
import {
  ApiKeyString,
  CreateUserParams,
  UpdateEmailParams,
  UpdateExtensionParams,
  UpdatePasswordParams,
  UsersUserCreate,
  UsersUserGet,
  UsersUserListPage,
  UsersUserSetVoicemail,
  UsersUserUpdateEmail,
  UsersUserUpdateExtension,
  UsersUserUpdatePassword,
  V1User,
} from '@ringcloud/contracts-users';
import { RateLimit, perSeconds } from '../config';
import { HttpProblem } from '../http/http-problem';
import { refuseRepeated } from '../http/json-body';
import { FileAnswer } from '../http/file-answer';
import type { RecordingStore } from '../recordings/recording-store';
import { requestDigest } from '../idempotency/idempotency-key';
import type { AccountKeys } from '../keys/account-keys';
import { KEYS_ROUTES } from './keys.routes';
import { REGISTRATIONS_ROUTES } from './registrations.routes';
import { NEXT_CURSOR, PAGE_QUERY, allPages, answerPage, pageQuery } from './pagination';
import { CALL_ID_ROUTES, X_CALL_ID } from './call-ids.routes';
import { USERS_DELETE_ROUTES } from './users-delete.routes';
import { WEBHOOK_PATH_PARAMS, WEBHOOK_ROUTES } from './webhooks.routes';
import type { OriginateFlow } from './originate';

/** The caller, as users-service verified its api_key + hash. */
export interface VerifiedKey {
  api_key: string;
  account_id: number;
  access: Access;
}

export interface V1Call<P = any> {
  key: VerifiedKey;
  /** Validated path parameters. */
  path: Record<string, string>;
  /** Validated `params` of the body (undefined for routes without params). */
  params: P;
  query: URLSearchParams;
  /** The request's `Idempotency-Key` on an `idempotent` route, undefined without one. */
  idempotencyKey?: string;
  /**
   * Sets a response header of a successful answer (`X-Call-Id`, `X-Next-Cursor`). Only headers the
   * route declares in `responseHeaders` (so the OpenAPI document lists every one); the gateway's own
   * headers (rate limit, request id) are not the handler's.
   */
  setHeader(name: string, value: string): void;
}

/** A header a route's successful answer may carry (OpenAPI `responses.200.headers`). */
export interface ResponseHeaderDoc {
  name: string;
  description: string;
  schema?: Record<string, unknown>;
}

export interface V1Deps {
  rpc: RpcClient;
  originate: OriginateFlow;
  recordings: RecordingStore;
  accountKeys: AccountKeys;
}

export interface QueryParamDoc {
  name: string;
  description: string;
  schema: Record<string, unknown>;
}

/** One v1 function: its URL, limit, access, body schema and handler. The handler only maps HTTP to a command. */
export interface V1Route {
  /** Limit id (RATE_LIMITS key), also the OpenAPI operationId. */
  id: string;
  method: 'GET' | 'POST';
  path: string;
  /** Other spellings of the same URL; they share the route's limit bucket. */
  aliases?: readonly string[];
  summary: string;
  description?: string;
  /** Default limit (spec section 5); RATE_LIMITS / RATE_LIMIT_PROFILE may change it. */
  limit: RateLimit;
  /** RO: any key; RW: read-write keys only. */
  access: Access;
  /** Schema of the body's `params` object; absent → the body is not needed (and ignored if valid JSON). */
  params?: z.ZodType;
  /** Schema of `data` on success (documentation). */
  response: z.ZodType;
  query?: readonly QueryParamDoc[];
  /** Headers the handler may set with `call.setHeader` (documented per route). */
  responseHeaders?: readonly ResponseHeaderDoc[];
  /**
   * Honours the `Idempotency-Key` request header (issue 9): the same key and params within 24 h
   * replay the first answer instead of running the command again (see idempotency/).
   */
  idempotent?: boolean;
  /** Spec section 2: a file download answers errors with an empty body. */
  fileDownload?: boolean;
  handle(call: V1Call, deps: V1Deps): Promise<unknown>;
}

/** Asterisk channel names: `Tech/resource`, printable ASCII without spaces (no CR/LF into AMI). */
export const ChannelName = z.string().regex(/^[A-Za-z][A-Za-z0-9]{0,31}\/[\x21-\x7e]{1,200}$/).pipe(TelephonyChannelName);

/** Path parameters and the 404 text when one is not even well-formed (no backend is asked then). */
export const PATH_PARAMS: Record<string, { schema: z.ZodType; notFound: string; description: string }> = {
  username: { schema: UserName, notFound: 'User not found', description: 'User name (numeric, e.g. 1679728441).' },
  filename: { schema: RecordingFileName, notFound: 'Recording not found', description: 'Recording file name.' },
  channel: {
    schema: ChannelName,
    notFound: 'Channel not found',
    description: 'Channel name, e.g. PJSIP/1679728441-00000012; the `/` may be sent raw or as %2F.',
  },
  call_id: { schema: CallId, notFound: 'Call not found', description: 'Call id: the `X-Call-Id` of `POST /v1/calls`, or the `call_id` of a listed call.' },
  key: { schema: ApiKeyString, notFound: 'API key not found', description: 'An API key of the account, e.g. 1001_a1b2c3d4e5f6.' },
  ...WEBHOOK_PATH_PARAMS,
};

/** `days`/`num` of GET /v1/calls/complete; a bad value is a 400 like any bad parameter. */
function completedQuery(query: URLSearchParams) {
  refuseRepeated(query, ['days', 'num']);
  const raw: Record<string, string> = {};
  for (const name of ['days', 'num'] as const) {
    const value = query.get(name);
    if (value !== null && value !== '') raw[name] = value;
  }
  const parsed = CompletedQuery.safeParse(raw);
  if (!parsed.success) throw HttpProblem.badRequest(firstIssueMessage(parsed.error));
  return parsed.data;
}

const seesSecrets = (key: VerifiedKey) => key.access === 'RW';

export const V1_ROUTES: readonly V1Route[] = [
  {
    id: 'users.list',
    method: 'GET',
    path: '/v1/users',
    summary: "List the account's users",
    description:
      '`password` is null for read-only keys. Ordered by extension (numerically), then user name. ' +
      'With `limit`, one page of that order; the next page\'s cursor is in `X-Next-Cursor`.',
    limit: perSeconds(1),
    access: 'RO',
    query: PAGE_QUERY,
    responseHeaders: [NEXT_CURSOR],
    response: z.array(V1User),
    handle: async (call, { rpc }) => {
      const scope = { account_id: call.key.account_id, include_password: seesSecrets(call.key) };
      const page = pageQuery(call);
      if (!page) return allPages((p) => rpc.send(UsersUserListPage.contract, { ...scope, page: p }));
      return answerPage(call, await rpc.send(UsersUserListPage.contract, { ...scope, page }));
    },
  },
  {
    id: 'users.create',
    method: 'POST',
    path: '/v1/users/create',
    summary: 'Create a user',
    description: 'Returns the new user name as `data`.',
    limit: perSeconds(60),
    access: 'RW',
    idempotent: true,
    params: CreateUserParams,
    response: z.string(),
    handle: ({ key, params, idempotencyKey }, { rpc }) =>
      rpc.send(UsersUserCreate.contract, {
        account_id: key.account_id,
        ...params,
        ...(idempotencyKey === undefined ? {} : { request_id: requestDigest(key.account_id, idempotencyKey) }),
      }),
  },
  {
    id: 'users.get',
    method: 'GET',
    path: '/v1/users/<username>',
    summary: "One user's info",
    description: '`password` is null for read-only keys.',
    limit: perSeconds(1),
    access: 'RO',
    response: V1User,
    handle: ({ key, path }, { rpc }) =>
      rpc.send(UsersUserGet.contract, { account_id: key.account_id, user: path.username, include_password: seesSecrets(key) }),
  },
  {
    id: 'users.update_password',
    method: 'POST',
    path: '/v1/users/<username>/update_password',
    summary: "Change a user's SIP password",
    limit: perSeconds(1),
    access: 'RW',
    params: UpdatePasswordParams,
    response: z.null(),
    handle: ({ key, path, params }, { rpc }) =>
      rpc.send(UsersUserUpdatePassword.contract, { account_id: key.account_id, user: path.username, ...params }),
  },
  {
    id: 'users.update_extension_number',
    method: 'POST',
    path: '/v1/users/<username>/update_extension_number',
    summary: "Change a user's extension number",
    limit: perSeconds(5),
    access: 'RW',
    params: UpdateExtensionParams,
    response: z.null(),
    handle: ({ key, path, params }, { rpc }) =>
      rpc.send(UsersUserUpdateExtension.contract, { account_id: key.account_id, user: path.username, ...params }),
  },
  {
    id: 'users.update_email',
    method: 'POST',
    path: '/v1/users/<username>/update_email',
    summary: "Change a user's email",
    limit: perSeconds(5),
    access: 'RW',
    params: UpdateEmailParams,
    response: z.null(),
    handle: ({ key, path, params }, { rpc }) =>
      rpc.send(UsersUserUpdateEmail.contract, { account_id: key.account_id, user: path.username, ...params }),
  },
  {
    id: 'users.voice_mail_box_on',
    method: 'POST',
    path: '/v1/users/<username>/voice_mail_box_on',
    summary: "Turn a user's voicemail box on",
    description: 'Takes no params; an empty body is fine.',
    limit: perSeconds(5),
    access: 'RW',
    response: z.null(),
    handle: ({ key, path }, { rpc }) =>
      rpc.send(UsersUserSetVoicemail.contract, { account_id: key.account_id, user: path.username, enabled: true }),
  },
  {
    id: 'users.voice_mail_box_off',
    method: 'POST',
    path: '/v1/users/<username>/voice_mail_box_off',
    summary: "Turn a user's voicemail box off",
    description: 'Takes no params; an empty body is fine.',
    limit: perSeconds(5),
    access: 'RW',
    response: z.null(),
    handle: ({ key, path }, { rpc }) =>
      rpc.send(UsersUserSetVoicemail.contract, { account_id: key.account_id, user: path.username, enabled: false }),
  },
  {
    id: 'users.records.list',
    method: 'GET',
    path: '/v1/users/<username>/records',
    summary: "List a user's recordings",
    description: 'Pairs of `[file_name, recording_time]`, newest first.',
    limit: perSeconds(5),
    access: 'RO',
    response: z.array(z.tuple([z.string(), V1DateTime])),
    handle: ({ key, path }, { rpc }) => rpc.send(CallsRecordingList.contract, { account_id: key.account_id, user: path.username }),
  },
  {
    id: 'users.records.download',
    method: 'GET',
    path: '/v1/users/<username>/records/<filename>',
    summary: 'Download a recording',
    description:
      'Returns the file itself (audio/wav or its real type, Content-Disposition: attachment); on failure an empty ' +
      'body with the error status. `Range: bytes=…` is supported (206).',
    limit: perSeconds(1),
    access: 'RO',
    response: z.string(),
    fileDownload: true,
    handle: async ({ key, path }, { rpc, recordings }) => {
      const file = await rpc.send(CallsRecordingGet.contract, { account_id: key.account_id, user: path.username, file_name: path.filename });
      return new FileAnswer(file.file_name, file.content_type, file.size, (range) => recordings.open(file.object_name, range));
    },
  },
  {
    id: 'calls.channels.list',
    method: 'GET',
    path: '/v1/calls/channels',
    summary: "List live channels of the account's context",
    limit: perSeconds(2),
    access: 'RO',
    response: z.array(z.string()),
    handle: ({ key }, { rpc }) => rpc.send(TelephonyChannelList.contract, { account_id: key.account_id }),
  },
  {
    id: 'calls.channels.get',
    method: 'GET',
    path: '/v1/calls/channels/<channel...>',
    summary: "One channel's info",
    limit: perSeconds(2),
    access: 'RO',
    response: ChannelInfo,
    handle: ({ key, path }, { rpc }) => rpc.send(TelephonyChannelGet.contract, { account_id: key.account_id, channel: path.channel }),
  },
  {
    id: 'calls.originate',
    method: 'POST',
    path: '/v1/calls',
    summary: 'Originate a call',
    description:
      "Rings the user's own phone first, then dials `num` and bridges the two. The new call's id is in the " +
      '`X-Call-Id` header (`GET /v1/calls/<call_id>`, and `call_id` in lists and CRM events); the optional ' +
      '`external_id` (1–64 printable ASCII characters, the CRM\'s own tag) is shown with the call.',
    limit: perSeconds(5),
    access: 'RW',
    idempotent: true,
    params: OriginateParams,
    responseHeaders: [X_CALL_ID],
    response: z.literal(ORIGINATE_QUEUED),
    handle: async (call, { originate }) => {
      const { key, params } = call;
      const request = { account_id: key.account_id, user: params.user, num: params.num, external_id: params.external_id ?? null };
      const queued = await originate.originate(request, call.idempotencyKey);
      call.setHeader(X_CALL_ID.name, queued.call_id);
      return queued.message;
    },
  },
  {
    id: 'calls.complete',
    method: 'GET',
    path: '/v1/calls/complete',
    aliases: ['/v1/calls/complite'],
    summary: 'Completed calls',
    description:
      'Also answers at the article\'s spelling `/v1/calls/complite` (same rate-limit bucket). Newest end first. ' +
      'With `limit`, one page of that order (not capped like the whole list); the next page\'s cursor is in `X-Next-Cursor`.',
    limit: perSeconds(5),
    access: 'RO',
    query: [
      { name: 'days', description: 'How many days back, 1–7 (default 7).', schema: { type: 'integer', minimum: 1, maximum: 7 } },
      { name: 'num', description: 'Only calls whose src or dst is this number.', schema: { type: 'string' } },
      ...PAGE_QUERY,
    ],
    responseHeaders: [NEXT_CURSOR],
    response: z.array(CompletedCall),
    handle: async (call, { rpc }) => {
      const scope = { account_id: call.key.account_id, ...completedQuery(call.query) };
      const page = pageQuery(call);
      if (!page) return allPages((p) => rpc.send(CallsCompletePage.contract, { ...scope, page: p }), COMPLETED_LIST_MAX);
      return answerPage(call, await rpc.send(CallsCompletePage.contract, { ...scope, page }));
    },
  },
  {
    id: 'calls.active',
    method: 'GET',
    path: '/v1/calls/active',
    summary: 'Active calls',
    limit: perSeconds(5),
    access: 'RO',
    response: z.array(ActiveCall),
    handle: ({ key }, { rpc }) => rpc.send(CallsActiveList.contract, { account_id: key.account_id }),
  },
  ...CALL_ID_ROUTES,
  ...USERS_DELETE_ROUTES,
  ...KEYS_ROUTES,
  ...REGISTRATIONS_ROUTES,
  ...WEBHOOK_ROUTES,
];

export const DEFAULT_LIMITS: ReadonlyMap<string, RateLimit> = new Map(V1_ROUTES.map((r) => [r.id, r.limit]));
