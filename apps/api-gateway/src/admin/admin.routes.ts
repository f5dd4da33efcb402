import { z } from 'zod';
import type { RpcClient } from '@ringcloud/nest-nats';
import { Access } from '@ringcloud/contracts-common';
import {
  Account,
  ApiKeyInfo,
  ApiKeyString,
  ApiKeyWithPassword,
  UsersAccountCreate,
  UsersAccountList,
  UsersApiKeyCreate,
  UsersApiKeyDelete,
  UsersApiKeyList,
  UsersApiKeyRegenerate,
  UsersApiKeySetEnabled,
} from '@ringcloud/contracts-users';

export interface AdminCall<B = any> {
  path: Record<string, string>;
  body: B;
}

/**
 * The operator's API for accounts and keys (spec section 4: keys are managed without touching the
 * database). Plain JSON bodies, the v1 envelope, no rate limit table; Bearer ADMIN_TOKEN.
 */
export interface AdminRoute {
  id: string;
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  summary: string;
  description?: string;
  body?: z.ZodType;
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
};

const accountId = (call: AdminCall) => Number(call.path.account_id);

export const ADMIN_ROUTES: readonly AdminRoute[] = [
  {
    id: 'admin.accounts.create',
    method: 'POST',
    path: '/admin/v1/accounts',
    summary: 'Create an account',
    description: '`account_id` is optional: without it the next free id is taken.',
    body: UsersAccountCreate.contract.request,
    response: Account,
    handle: ({ body }, { rpc }) => rpc.send(UsersAccountCreate.contract, body),
  },
  {
    id: 'admin.accounts.list',
    method: 'GET',
    path: '/admin/v1/accounts',
    summary: 'List accounts',
    response: z.array(Account),
    handle: (_call, { rpc }) => rpc.send(UsersAccountList.contract, {}),
  },
  {
    id: 'admin.keys.create',
    method: 'POST',
    path: '/admin/v1/accounts/<account_id>/keys',
    summary: 'Create an API key for an account',
    description: 'The password is shown once, here; only its verifier is stored.',
    body: z.object({ access: Access }),
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
];
