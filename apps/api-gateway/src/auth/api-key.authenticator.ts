import { Inject, Injectable } from '@nestjs/common';
import { RpcClient } from '@ringcloud/nest-nats';
import { ApiKeyString, UsersApiKeyVerify } from '@ringcloud/contracts-users';
import { GatewayConfig } from '../config';
import { HttpProblem } from '../http/http-problem';
import { GATEWAY_CONFIG } from '../tokens';
import type { VerifiedKey } from '../v1/routes';
import { KeyVerificationCache } from './key-verification-cache';

/** The v1 403 texts (spec section 3): each refusal has its own message. */
export const AuthMessage = {
  NoKey: 'API key is not specified',
  NoHash: 'Hash is not specified',
  UnknownKey: 'API key does not exist',
  InvalidHash: 'Invalid hash',
  Disabled: 'API key is disabled',
  ReadOnly: 'API key is read-only',
} as const;

/**
 * Authenticates `?api_key=…&hash=…` with users-service (UsersApiKeyVerify), through a short
 * in-memory cache that KeyChangeListener invalidates as soon as a key changes.
 */
@Injectable()
export class ApiKeyAuthenticator {
  readonly cache: KeyVerificationCache;

  constructor(
    private readonly rpc: RpcClient,
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
  ) {
    this.cache = new KeyVerificationCache(config.KEY_CACHE_TTL_MS);
  }

  async authenticate(query: URLSearchParams): Promise<VerifiedKey> {
    const apiKey = query.get('api_key');
    if (!apiKey) throw HttpProblem.forbidden(AuthMessage.NoKey);
    const hash = query.get('hash');
    if (!hash) throw HttpProblem.forbidden(AuthMessage.NoHash);
    // A key of the wrong shape cannot exist: no need to ask (nor to cache it).
    if (!ApiKeyString.safeParse(apiKey).success) throw HttpProblem.forbidden(AuthMessage.UnknownKey);

    const result = await this.cache.get(apiKey, hash, () =>
      // Longer than any md5 hex, so still wrong after the cut; the contract caps the length.
      this.rpc.send(UsersApiKeyVerify.contract, { api_key: apiKey, hash: hash.slice(0, 200) }),
    );
    if (result.ok) return { api_key: apiKey, account_id: result.account_id, access: result.access };
    switch (result.reason) {
      case 'unknown_key':
        throw HttpProblem.forbidden(AuthMessage.UnknownKey);
      case 'disabled':
        throw HttpProblem.forbidden(AuthMessage.Disabled);
      default:
        throw HttpProblem.forbidden(AuthMessage.InvalidHash);
    }
  }
}
