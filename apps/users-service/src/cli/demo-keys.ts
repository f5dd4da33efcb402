import { Access, DomainError, ErrorCode } from '@ringcloud/contracts-common';
import type { ApiKeyWithPassword } from '@ringcloud/contracts-users';
import type { UsersCore } from '../users-core';

/** What `keys create` does: a new key (and the account when missing), its password shown once. */
export function createApiKey(core: UsersCore, accountId: number, access: Access): Promise<ApiKeyWithPassword> {
  return core.apiKeys.create({ account_id: accountId, access, create_account: true });
}

/**
 * Makes sure the demo account has one enabled RW and one enabled RO key and returns both with
 * their passwords. Passwords are not stored, so existing demo keys are regenerated to show them.
 */
export async function ensureDemoKeys(core: UsersCore, accountId = 1001): Promise<{ account_id: number; keys: ApiKeyWithPassword[] }> {
  const existing = await core.apiKeys.list(accountId).catch((err) => {
    if (err instanceof DomainError && err.code === ErrorCode.NotFound) return []; // no account yet
    throw err;
  });
  const keys: ApiKeyWithPassword[] = [];
  for (const access of ['RW', 'RO'] as const) {
    const key = existing.find((k) => k.access === access && k.enabled);
    keys.push(key ? await core.apiKeys.regenerate(key.api_key) : await createApiKey(core, accountId, access));
  }
  return { account_id: accountId, keys };
}
