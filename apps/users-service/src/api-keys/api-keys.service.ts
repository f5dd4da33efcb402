import { Inject, Injectable } from '@nestjs/common';
import { DomainError } from '@ringcloud/contracts-common';
import { requesterGaveUp, requesterWaits } from '@ringcloud/nest-nats';
import {
  ApiKeyInfo,
  ApiKeyString,
  ApiKeyWithPassword,
  UsersApiKeyCreate,
  UsersApiKeyVerify,
  VerifyResult,
} from '@ringcloud/contracts-users';
import { AccountsRepository } from '../accounts/accounts.repository';
import { ApiKeySecrets } from '../secrets/api-key-secrets';
import type { Prisma } from '../infra/database';
import { ApiKeyRow, ApiKeysRepository } from './api-keys.repository';
import { KeyChangeNotifier } from './key-change-notifier';

const keyNotFound = () => DomainError.notFound('API key not found');
export const LAST_RW_KEY = 'The account must keep at least one enabled RW key: this is its last one';

/** API keys: creation, v1 hash verification, and the owner's management verbs. */
/**
 * Keys an account may hold, whoever creates them (the admin API and the CLI too): an account's key
 * list is one NATS reply (1 MB at most; ~200 bytes a key), and no tenant needs more.
 */
export const MAX_API_KEYS_PER_ACCOUNT = 1000;

@Injectable()
export class ApiKeysService {
  constructor(
    private readonly keys: ApiKeysRepository,
    private readonly accounts: AccountsRepository,
    @Inject(ApiKeySecrets) private readonly secrets: ApiKeySecrets,
    private readonly notifier: KeyChangeNotifier,
  ) {}

  /** Checks a v1 request's api_key + hash. Only a caller with the right hash learns a key is disabled. */
  async verify(req: UsersApiKeyVerify.Request): Promise<VerifyResult> {
    if (!ApiKeyString.safeParse(req.api_key).success) return { ok: false, reason: 'unknown_key' };
    const row = await this.keys.find(req.api_key);
    if (!row) return { ok: false, reason: 'unknown_key' };
    if (!this.secrets.matches(row, req.hash)) return { ok: false, reason: 'invalid_hash' };
    if (!row.enabled) return { ok: false, reason: 'disabled' };
    return { ok: true, account_id: row.accountId, access: row.access };
  }

  /**
   * A new key and its password (shown this once). `create_account` creates a missing account. Any
   * creator (the owner's `max_keys` is lower) stops at MAX_API_KEYS_PER_ACCOUNT.
   */
  async create(req: UsersApiKeyCreate.Request, deadline?: number): Promise<ApiKeyWithPassword> {
    const key = this.secrets.newApiKey(req.account_id);
    const password = this.secrets.newPassword();
    await this.keys.transaction(async (tx) => {
      if (req.create_account) await this.accounts.insertIfMissing(req.account_id, `Account ${req.account_id}`, tx);
      else if (!(await this.accounts.find(req.account_id, tx))) throw DomainError.notFound(`account ${req.account_id} not found`);
      // Locked so that concurrent creations cannot all pass the count.
      const cap = Math.min(req.max_keys ?? MAX_API_KEYS_PER_ACCOUNT, MAX_API_KEYS_PER_ACCOUNT);
      await this.keys.lockAccount(tx, req.account_id);
      if ((await this.keys.countForAccount(req.account_id, tx)) >= cap) {
        throw DomainError.badRequest(`An account may have at most ${cap} API keys`);
      }
      await this.keys.insert({ key, accountId: req.account_id, access: req.access, ...this.secrets.protect(key, password) }, tx);
      // A key created for a requester that gave up would never be shown: its password is lost.
      if (!requesterWaits(deadline)) throw requesterGaveUp('the key was created');
    });
    return { api_key: key, password, access: req.access };
  }

  async list(accountId: number): Promise<ApiKeyInfo[]> {
    if (!(await this.accounts.find(accountId))) throw DomainError.notFound(`account ${accountId} not found`);
    return (await this.keys.listForAccount(accountId)).map(toInfo);
  }

  /** `accountId`: the owner's scope (see OwnerScope in the contract); without it, the operator's. */
  async setEnabled(apiKey: string, enabled: boolean, accountId?: number): Promise<ApiKeyInfo> {
    const row =
      accountId === undefined
        ? await this.keys.setEnabled(apiKey, enabled)
        : await this.ownerChange(apiKey, accountId, !enabled, (tx) => this.keys.setEnabled(apiKey, enabled, tx, accountId));
    if (!row) throw keyNotFound();
    await this.notifier.keyChanged(apiKey);
    return toInfo(row);
  }

  async delete(apiKey: string, accountId?: number): Promise<null> {
    const deleted =
      accountId === undefined
        ? await this.keys.delete(apiKey)
        : await this.ownerChange(apiKey, accountId, true, (tx) => this.keys.delete(apiKey, tx, accountId));
    if (!deleted) throw keyNotFound();
    await this.notifier.keyChanged(apiKey);
    return null;
  }

  /** A new password for the key: the old one stops working at once. */
  async regenerate(apiKey: string, accountId?: number, deadline?: number): Promise<ApiKeyWithPassword> {
    const password = this.secrets.newPassword();
    const row = await this.keys.transaction(async (tx) => {
      const replaced = await this.keys.replaceSecret(apiKey, this.secrets.protect(apiKey, password), accountId, tx);
      // A new password its requester never receives would lock the key's user out (the old one stops working).
      if (replaced && !requesterWaits(deadline)) throw requesterGaveUp('the password was replaced');
      return replaced;
    });
    if (!row) throw keyNotFound();
    await this.notifier.keyChanged(apiKey);
    return { api_key: row.key, password, access: row.access };
  }

  /**
   * An owner's change of one of its keys, under the account's lock: another account's key is
   * NOT_FOUND, and taking out of service (`removesAccess`) the account's last enabled RW key is
   * refused, whichever key asks — otherwise the owner could lock itself out for good.
   */
  private ownerChange<T>(apiKey: string, accountId: number, removesAccess: boolean, change: (tx: Prisma.TransactionClient) => Promise<T>): Promise<T> {
    return this.keys.transaction(async (tx) => {
      await this.keys.lockAccount(tx, accountId);
      const row = await this.keys.findInAccount(apiKey, accountId, tx);
      if (!row) throw keyNotFound();
      if (removesAccess && row.access === 'RW' && row.enabled && (await this.keys.countOtherEnabledRw(accountId, apiKey, tx)) === 0) {
        throw DomainError.badRequest(LAST_RW_KEY);
      }
      return change(tx);
    });
  }
}

function toInfo(row: ApiKeyRow): ApiKeyInfo {
  return {
    api_key: row.key,
    account_id: row.accountId,
    access: row.access,
    enabled: row.enabled,
    created_at: row.createdAt.toISOString(),
    password_changed_at: row.passwordChangedAt.toISOString(),
  };
}
