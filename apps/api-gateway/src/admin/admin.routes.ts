import { z } from 'zod';
import type { RpcClient } from '@ringcloud/nest-nats';
import { allPages } from '../v1/pagination';
import { Access, UserName } from '@ringcloud/contracts-common';
import {
  Account,
  ApiKeyInfo,
  ApiKeyString,
  ApiKeyWithPassword,
  NumberInfo,
  PhoneNumber,
  UsersAccountCreate,
  UsersAccountListPage,
  UsersApiKeyCreate,
  UsersApiKeyDelete,
  UsersApiKeyList,
  UsersApiKeyRegenerate,
  UsersApiKeySetEnabled,
  UsersNumberAssign,
  UsersNumberListPage,
  UsersNumberReassign,
  UsersNumberRelease,
  UsersUserDelete,
} from '@ringcloud/contracts-users';

export interface AdminCall<B = any, Q = any> {
  path: Record<string, string>;
  body: B;
  /** The query string parsed with the route's `query` schema ({} for routes without one). */
  query: Q;
}

/**
 * The operator's API for accounts, keys (spec section 4: keys are managed without touching the
 * database), inbound numbers and deleting users. Plain JSON bodies, the v1 envelope, no rate limit table; Bearer ADMIN_TOKEN.
 */
export interface AdminRoute {
  id: string;
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  summary: string;
  description?: string;
  /**
   * A strict object: an unknown key is refused (400) — a misspelt optional field would otherwise be
   * dropped silently. Routes without it take an empty body or `{}`.
   */
  body?: z.ZodObject;
  /**
   * Query parameters, as strings (empty values count as absent); unknown ones are refused (400).
   * Routes without it take none.
   */
  query?: z.ZodObject;
  response: z.ZodType;
  handle(call: AdminCall, deps: { rpc: RpcClient }): Promise<unknown>;
}

/** Account ids in the path: a positive 32-bit integer, else 404. */
const AccountIdText = z
  .string()
  .regex(/^[1-9][0-9]{0,9}$/)
  .refine((v) => Number(v) <= 2_147_483_647);

export const ADMIN_PATH_PARAMS: Record<string, { schema: z.ZodType; notFound: string; description: string }> = {
  account_id: { schema: AccountIdText, notFound: 'Account not found', description: 'Account id, e.g. 1001.' },
  api_key: { schema: ApiKeyString, notFound: 'API key not found', description: 'API key, e.g. 1001_a1b2c3d4e5f6.' },
  user: { schema: UserName, notFound: 'User not found', description: 'User name (numeric), e.g. 1679728441.' },
  number: { schema: PhoneNumber, notFound: 'Number not found', description: 'Phone number, E.164 digits with or without the leading + (as %2B or raw), e.g. 74951234567.' },
};

const accountId = (call: AdminCall) => Number(call.path.account_id);

const NOT_AN_ACCOUNT = 'account_id must be a positive account number';
const NumbersQuery = z
  .object({
    account_id: z
      .string()
      .regex(/^[1-9][0-9]{0,9}$/, NOT_AN_ACCOUNT)
      .refine((v) => Number(v) <= 2_147_483_647, NOT_AN_ACCOUNT)
      .transform(Number)
      .optional()
      .describe("Only this account's numbers, e.g. 1001."),
  })
  .strict();

/** POST /admin/v1/numbers/<number>/reassign: the number is in the path. */
const ReassignBody = UsersNumberReassign.contract.request.omit({ number: true }).strict();

/** Both URLs of a user's deletion: the same users-service command as v1's `POST /v1/users/delete`. */
const deleteUser: AdminRoute['handle'] = (call, { rpc }) => rpc.send(UsersUserDelete.contract, { account_id: accountId(call), user: call.path.user });


/** Assigned numbers, all or one account's, read page by page (allPages: one reply may not fit a NATS message). */
const allNumbers = (rpc: RpcClient, account_id: number | undefined) =>
  allPages((page) => rpc.send(UsersNumberListPage.contract, account_id === undefined ? { page } : { account_id, page }));

export const ADMIN_ROUTES: readonly AdminRoute[] = [
  {
    id: 'admin.accounts.create',
    method: 'POST',
    path: '/admin/v1/accounts',
    summary: 'Create an account',
    description: '`account_id` is optional: without it the next free id is taken.',
    body: UsersAccountCreate.contract.request.strict(),
    response: Account,
    handle: ({ body }, { rpc }) => rpc.send(UsersAccountCreate.contract, body),
  },
  {
    id: 'admin.accounts.list',
    method: 'GET',
    path: '/admin/v1/accounts',
    summary: 'List accounts',
    response: z.array(Account),
    handle: (_call, { rpc }) => allPages((page) => rpc.send(UsersAccountListPage.contract, { page })),
  },
  {
    id: 'admin.keys.create',
    method: 'POST',
    path: '/admin/v1/accounts/<account_id>/keys',
    summary: 'Create an API key for an account',
    description: 'The password is shown once, here; only its verifier is stored.',
    body: z.object({ access: Access }).strict(),
    response: ApiKeyWithPassword,
    handle: (call, { rpc }) => rpc.send(UsersApiKeyCreate.contract, { account_id: accountId(call), access: call.body.access }),
  },
  {
    id: 'admin.keys.list',
    method: 'GET',
    path: '/admin/v1/accounts/<account_id>/keys',
    summary: "List an account's API keys",
    response: z.array(ApiKeyInfo),
    handle: (call, { rpc }) => rpc.send(UsersApiKeyList.contract, { account_id: accountId(call) }),
  },
  {
    id: 'admin.keys.disable',
    method: 'POST',
    path: '/admin/v1/keys/<api_key>/disable',
    summary: 'Disable an API key',
    response: ApiKeyInfo,
    handle: ({ path }, { rpc }) => rpc.send(UsersApiKeySetEnabled.contract, { api_key: path.api_key, enabled: false }),
  },
  {
    id: 'admin.keys.enable',
    method: 'POST',
    path: '/admin/v1/keys/<api_key>/enable',
    summary: 'Enable an API key',
    response: ApiKeyInfo,
    handle: ({ path }, { rpc }) => rpc.send(UsersApiKeySetEnabled.contract, { api_key: path.api_key, enabled: true }),
  },
  {
    id: 'admin.keys.regenerate',
    method: 'POST',
    path: '/admin/v1/keys/<api_key>/regenerate',
    summary: "Regenerate an API key's password",
    description: 'The new password is shown once, here. The old one stops working at once on every gateway.',
    response: ApiKeyWithPassword,
    handle: ({ path }, { rpc }) => rpc.send(UsersApiKeyRegenerate.contract, { api_key: path.api_key }),
  },
  {
    id: 'admin.keys.delete',
    method: 'POST',
    path: '/admin/v1/keys/<api_key>/delete',
    summary: 'Delete an API key',
    response: z.null(),
    handle: ({ path }, { rpc }) => rpc.send(UsersApiKeyDelete.contract, { api_key: path.api_key }),
  },
  {
    id: 'admin.keys.delete_http',
    method: 'DELETE',
    path: '/admin/v1/keys/<api_key>',
    summary: 'Delete an API key (same as POST …/delete)',
    response: z.null(),
    handle: ({ path }, { rpc }) => rpc.send(UsersApiKeyDelete.contract, { api_key: path.api_key }),
  },
  {
    id: 'admin.users.delete',
    method: 'POST',
    path: '/admin/v1/accounts/<account_id>/users/<user>/delete',
    summary: 'Delete a user',
    description:
      "The same deletion as v1's `POST /v1/users/delete`: the user's SIP account is deprovisioned (`users.user.deleted`), " +
      'its inbound numbers are released, its extension is free again, its call records stay; the user name is never ' +
      "given to another user. An unknown user, a deleted one or another account's → 404 `User not found`.",
    response: z.null(),
    handle: deleteUser,
  },
  {
    id: 'admin.users.delete_http',
    method: 'DELETE',
    path: '/admin/v1/accounts/<account_id>/users/<user>',
    summary: 'Delete a user (same as POST …/delete)',
    response: z.null(),
    handle: deleteUser,
  },
  {
    id: 'admin.numbers.list',
    method: 'GET',
    path: '/admin/v1/numbers',
    summary: 'List assigned inbound numbers',
    description: "Every assigned number, or one account's with `?account_id=`, ordered by account and number, with the extension (`num`) of the user each one rings.",
    query: NumbersQuery,
    response: z.array(NumberInfo),
    handle: ({ query }, { rpc }) => allNumbers(rpc, query.account_id),
  },
  {
    id: 'admin.numbers.list_account',
    method: 'GET',
    path: '/admin/v1/accounts/<account_id>/numbers',
    summary: "List an account's inbound numbers",
    response: z.array(NumberInfo),
    handle: (call, { rpc }) => allNumbers(rpc, accountId(call)),
  },
  {
    id: 'admin.numbers.assign',
    method: 'POST',
    path: '/admin/v1/numbers',
    summary: 'Assign an inbound number to a user',
    description:
      'A free number (E.164, the leading + optional; stored as digits) to a user of `account_id`. 400 when the number is ' +
      'already assigned or the user is not one of the account\'s. Calls to the number then ring the user (the PBX is ' +
      'told through the `users.number.assigned` event).',
    body: UsersNumberAssign.contract.request.strict(),
    response: NumberInfo,
    handle: ({ body }, { rpc }) => rpc.send(UsersNumberAssign.contract, body),
  },
  {
    id: 'admin.numbers.reassign',
    method: 'POST',
    path: '/admin/v1/numbers/<number>/reassign',
    summary: 'Give an assigned number to another user',
    description:
      "To another user of the number's account, or with `account_id` to a user of that account (the number moves). " +
      '404 when the number is not assigned; reassigning to the user it already rings changes nothing.',
    body: ReassignBody,
    response: NumberInfo,
    handle: ({ path, body }, { rpc }) => rpc.send(UsersNumberReassign.contract, { ...body, number: path.number }),
  },
  {
    id: 'admin.numbers.release',
    method: 'POST',
    path: '/admin/v1/numbers/<number>/release',
    summary: 'Release an inbound number',
    description: 'The number stops ringing anyone (`users.number.released`) and may be assigned again later. 404 when it is not assigned.',
    response: z.null(),
    handle: ({ path }, { rpc }) => rpc.send(UsersNumberRelease.contract, { number: path.number }),
  },
  {
    id: 'admin.numbers.release_http',
    method: 'DELETE',
    path: '/admin/v1/numbers/<number>',
    summary: 'Release an inbound number (same as POST …/release)',
    response: z.null(),
    handle: ({ path }, { rpc }) => rpc.send(UsersNumberRelease.contract, { number: path.number }),
  },
];
