import { z } from 'zod';
import { Access, AccountId, Page, PageRequest, command, event, healthSubject } from '@ringcloud/contracts-common';

export const ApiKeyString = z.string().regex(/^[1-9][0-9]{0,9}_[A-Za-z0-9]{8,64}$/, 'malformed API key');
export const Md5Hex = z.string().regex(/^[0-9a-fA-F]{32}$/, 'malformed hash');

export const ApiKeyInfo = z.object({
  api_key: z.string(),
  account_id: z.number().int(),
  access: Access,
  enabled: z.boolean(),
  created_at: z.string(),
  password_changed_at: z.string(),
});
export type ApiKeyInfo = z.infer<typeof ApiKeyInfo>;

/** A key with its password: returned once, at creation or regeneration, never stored in clear. */
export const ApiKeyWithPassword = z.object({ api_key: z.string(), password: z.string(), access: Access });
export type ApiKeyWithPassword = z.infer<typeof ApiKeyWithPassword>;

/**
 * Verification result. `reason` is set when refused; the gateway turns it into the v1 403 text.
 * `disabled` is only told to a caller whose hash is right (it knows the password already).
 */
export const VerifyResult = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), account_id: z.number().int(), access: Access }),
  z.object({ ok: z.literal(false), reason: z.enum(['unknown_key', 'disabled', 'invalid_hash']) }),
]);
export type VerifyResult = z.infer<typeof VerifyResult>;

export namespace UsersApiKeyVerify {
  export const contract = command('users.apikey.verify', z.object({ api_key: z.string().max(200), hash: z.string().max(200) }), VerifyResult);
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
}

export namespace UsersApiKeyCreate {
  /** `max_keys` (the owner's v1 extension sets it): refused with BAD_REQUEST when the account already has that many keys. */
  export const contract = command(
    'users.apikey.create',
    z.object({
      account_id: AccountId,
      access: Access,
      create_account: z.boolean().default(false),
      max_keys: z.number().int().positive().optional(),
    }),
    ApiKeyWithPassword,
  );
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
}

export namespace UsersApiKeyList {
  export const contract = command('users.apikey.list', z.object({ account_id: AccountId }), z.array(ApiKeyInfo));
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
}

/**
 * `account_id` set = the account owner's scope (the v1 key-management extension): the key must
 * belong to that account (else NOT_FOUND, like an unknown key), and a change that would leave the
 * account without an enabled RW key is refused (BAD_REQUEST). Unset = the operator (admin API, CLI).
 */
const OwnerScope = { account_id: AccountId.optional() };

export namespace UsersApiKeySetEnabled {
  export const contract = command('users.apikey.set_enabled', z.object({ api_key: ApiKeyString, enabled: z.boolean(), ...OwnerScope }), ApiKeyInfo);
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
}

export namespace UsersApiKeyDelete {
  export const contract = command('users.apikey.delete', z.object({ api_key: ApiKeyString, ...OwnerScope }), z.null());
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
}

export namespace UsersApiKeyRegenerate {
  export const contract = command('users.apikey.regenerate', z.object({ api_key: ApiKeyString, ...OwnerScope }), ApiKeyWithPassword);
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
}

/**
 * Broadcast (core NATS, every gateway replica) whenever a key is disabled, enabled, deleted or
 * its password regenerated, so cached verifications are dropped at once.
 */
export const UsersApiKeyChanged = event('users.apikey.changed', z.object({ api_key: z.string() }));

export const Account = z.object({ account_id: z.number().int(), name: z.string(), created_at: z.string() });
export type Account = z.infer<typeof Account>;

/** An account's name: shown in admin lists and logs, so one line of printable text. */
export const AccountName = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .regex(/^[^\x00-\x1f\x7f]*$/, 'name must not contain control characters');

export namespace UsersAccountCreate {
  export const contract = command(
    'users.account.create',
    z.object({ account_id: AccountId.optional(), name: AccountName }),
    Account,
  );
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
}

export namespace UsersAccountList {
  export const contract = command('users.account.list', z.object({}), z.array(Account));
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
}

export namespace UsersAccountListPage {
  /** One page of `users.account.list` (by account id): the gateway reads the whole list page by page. */
  export const contract = command('users.account.list_page', z.object({ page: PageRequest }), Page(Account));
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
}

/** Liveness of users-service over NATS, for the gateway's /readyz. */
export namespace UsersHealthPing {
  export const contract = command(healthSubject('users'), z.object({}), z.object({ status: z.literal('ok') }));
  export const subject = contract.subject;
}

/**
 * The account owner's key management (v1 extension, RW keys, own account only): one key as
 * `GET /v1/keys` shows it — never a secret. `last_used_at`: the last authenticated request with
 * the key, as the gateways recorded it (to within a few seconds); null when not seen.
 */
export const V1ApiKey = z.object({
  api_key: z.string(),
  access: Access,
  enabled: z.boolean(),
  created_at: z.string(),
  password_changed_at: z.string(),
  last_used_at: z.string().nullable(),
});
export type V1ApiKey = z.infer<typeof V1ApiKey>;

/** `POST /v1/keys/create` params. */
export const CreateKeyParams = z.object({ access: Access });
