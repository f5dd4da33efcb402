import { Injectable } from '@nestjs/common';
import { RpcClient } from '@ringcloud/nest-nats';
import type { Access } from '@ringcloud/contracts-common';
import {
  ApiKeyInfo,
  ApiKeyWithPassword,
  UsersApiKeyCreate,
  UsersApiKeyDelete,
  UsersApiKeyList,
  UsersApiKeyRegenerate,
  UsersApiKeySetEnabled,
  V1ApiKey,
} from '@ringcloud/contracts-users';
import { ApiKeyAuthenticator } from '../auth/api-key.authenticator';
import { HttpProblem } from '../http/http-problem';
import { KeyUsage } from './key-usage';

/** The owner's keys are capped so a script gone wrong cannot fill the table. */
export const MAX_KEYS_PER_ACCOUNT = 100;

/** The caller of the v1 key-management extension: an authenticated RW key. */
export interface KeyOwner {
  api_key: string;
  account_id: number;
}

/**
 * The v1 key-management extension, always in the caller's own account: users-service enforces the
 * scope (another account's key is NOT_FOUND) and the "one enabled RW key" rule; this adds the
 * "last used" times (KeyUsage) and drops this replica's cached verification of a changed key
 * before answering (other replicas drop theirs on the users.apikey.changed broadcast, which
 * users-service sends before it replies).
 */
@Injectable()
export class AccountKeys {
  constructor(
    private readonly rpc: RpcClient,
    private readonly usage: KeyUsage,
    private readonly authenticator: ApiKeyAuthenticator,
  ) {}

  async list(owner: KeyOwner): Promise<V1ApiKey[]> {
    const [keys, lastUsed] = await Promise.all([this.rpc.send(UsersApiKeyList.contract, { account_id: owner.account_id }), this.lastUsed(owner)]);
    return keys.map((k) => toV1(k, lastUsed));
  }

  async get(owner: KeyOwner, apiKey: string): Promise<V1ApiKey> {
    const found = (await this.list(owner)).find((k) => k.api_key === apiKey);
    if (!found) throw HttpProblem.notFound('API key not found');
    return found;
  }

  create(owner: KeyOwner, access: Access): Promise<ApiKeyWithPassword> {
    return this.rpc.send(UsersApiKeyCreate.contract, { account_id: owner.account_id, access, create_account: false, max_keys: MAX_KEYS_PER_ACCOUNT });
  }

  async regenerate(owner: KeyOwner, apiKey: string): Promise<ApiKeyWithPassword> {
    return this.changed(apiKey, await this.rpc.send(UsersApiKeyRegenerate.contract, { api_key: apiKey, account_id: owner.account_id }));
  }

  async setEnabled(owner: KeyOwner, apiKey: string, enabled: boolean): Promise<V1ApiKey> {
    const info = this.changed(apiKey, await this.rpc.send(UsersApiKeySetEnabled.contract, { api_key: apiKey, enabled, account_id: owner.account_id }));
    return toV1(info, await this.lastUsed(owner));
  }

  async delete(owner: KeyOwner, apiKey: string): Promise<null> {
    this.changed(apiKey, await this.rpc.send(UsersApiKeyDelete.contract, { api_key: apiKey, account_id: owner.account_id }));
    await this.usage.forget(apiKey, owner.account_id);
    return null;
  }

  private changed<T>(apiKey: string, result: T): T {
    this.authenticator.cache.invalidate(apiKey);
    return result;
  }

  private async lastUsed(owner: KeyOwner): Promise<Map<string, number>> {
    try {
      return await this.usage.lastUsed(owner.account_id);
    } catch {
      // Redis answered the rate limiter a moment ago; if it is gone now, 503 like any backend.
      throw HttpProblem.unavailable();
    }
  }
}

function toV1(info: ApiKeyInfo, lastUsed: Map<string, number>): V1ApiKey {
  const at = lastUsed.get(info.api_key);
  return {
    api_key: info.api_key,
    access: info.access,
    enabled: info.enabled,
    created_at: info.created_at,
    password_changed_at: info.password_changed_at,
    last_used_at: at ? new Date(at).toISOString() : null,
  };
}
