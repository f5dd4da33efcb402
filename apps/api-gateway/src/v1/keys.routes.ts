import { z } from 'zod';
import { ApiKeyWithPassword, CreateKeyParams, V1ApiKey } from '@ringcloud/contracts-users';
// Types only: routes.ts imports this table (a value import back would be circular).
import type { V1Route } from './routes';
import { perSeconds } from '../config';


const SCOPE =
  "Key management for the account's owner (v1 extension): RW keys only (a RO key gets 403 `API key is read-only`), " +
  "always in the caller's own account — another account's key answers 404 `API key not found`.";
const LAST_RW =
  "Refused with 400 when it would leave the account without an enabled RW key (whichever key asks, itself included): " +
  'the owner could never sign in again. Takes effect at once on every gateway replica.';

/** `/v1/keys…`: the account page's key management, as a RW key of the account sees it. */
export const KEYS_ROUTES: readonly V1Route[] = [
  {
    id: 'keys.list',
    method: 'GET',
    path: '/v1/keys',
    summary: "List the account's API keys",
    description: `${SCOPE} Never a password. \`last_used_at\`: the key's last authenticated request, to within a few seconds; null when none was seen.`,
    limit: perSeconds(1),
    access: 'RW',
    response: z.array(V1ApiKey),
    handle: ({ key }, { accountKeys }) => accountKeys.list(key),
  },
  {
    id: 'keys.create',
    method: 'POST',
    path: '/v1/keys/create',
    summary: 'Create an API key',
    description: `${SCOPE} Returns the new key and its password: the password is shown this once. At most 100 keys per account (400 beyond).`,
    limit: perSeconds(5),
    access: 'RW',
    params: CreateKeyParams,
    response: ApiKeyWithPassword,
    handle: ({ key, params }, { accountKeys }) => accountKeys.create(key, params.access),
  },
  {
    id: 'keys.get',
    method: 'GET',
    path: '/v1/keys/<key>',
    summary: 'One API key',
    description: SCOPE,
    limit: perSeconds(1),
    access: 'RW',
    response: V1ApiKey,
    handle: ({ key, path }, { accountKeys }) => accountKeys.get(key, path.key),
  },
  {
    id: 'keys.regenerate',
    method: 'POST',
    path: '/v1/keys/<key>/regenerate',
    summary: "Regenerate a key's password",
    description: `${SCOPE} Returns the new password (shown this once); the old one stops working at once. Takes no params.`,
    limit: perSeconds(5),
    access: 'RW',
    response: ApiKeyWithPassword,
    handle: ({ key, path }, { accountKeys }) => accountKeys.regenerate(key, path.key),
  },
  {
    id: 'keys.disable',
    method: 'POST',
    path: '/v1/keys/<key>/disable',
    summary: 'Disable an API key',
    description: `${SCOPE} Requests with the key then answer 403 \`API key is disabled\`. ${LAST_RW} Takes no params.`,
    limit: perSeconds(1),
    access: 'RW',
    response: V1ApiKey,
    handle: ({ key, path }, { accountKeys }) => accountKeys.setEnabled(key, path.key, false),
  },
  {
    id: 'keys.enable',
    method: 'POST',
    path: '/v1/keys/<key>/enable',
    summary: 'Enable an API key',
    description: `${SCOPE} Takes no params.`,
    limit: perSeconds(1),
    access: 'RW',
    response: V1ApiKey,
    handle: ({ key, path }, { accountKeys }) => accountKeys.setEnabled(key, path.key, true),
  },
  {
    id: 'keys.delete',
    method: 'POST',
    path: '/v1/keys/<key>/delete',
    summary: 'Delete an API key',
    description: `${SCOPE} Requests with the key then answer 403 \`API key does not exist\`. ${LAST_RW} Takes no params.`,
    limit: perSeconds(1),
    access: 'RW',
    response: z.null(),
    handle: ({ key, path }, { accountKeys }) => accountKeys.delete(key, path.key),
  },
];
