import { z } from 'zod';
import { AccountId, Email, Extension, Page, PageRequest, SipPassword, UserName, command, event } from '@ringcloud/contracts-common';

/** A user as v1 shows it. `password` is null for read-only keys. */
export const V1User = z.object({
  account_id: z.number().int(),
  user: z.string(),
  num: z.string(),
  mail: z.string(),
  voice_mail_box: z.enum(['on', 'off']),
  password: z.string().nullable(),
});
export type V1User = z.infer<typeof V1User>;

const Scope = { account_id: AccountId };
const Target = { ...Scope, user: UserName };
/** Whether the caller may see SIP secrets (RW keys only). */
const WithSecrets = { include_password: z.boolean() };

export namespace UsersUserList {
  export const contract = command('users.user.list', z.object({ ...Scope, ...WithSecrets }), z.array(V1User));
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
}

/** One page of the account's users, in the list's order (GET /v1/users?limit=…&cursor=…). */
export namespace UsersUserListPage {
  export const contract = command('users.user.list_page', z.object({ ...Scope, ...WithSecrets, page: PageRequest }), Page(V1User));
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
}

export namespace UsersUserGet {
  export const contract = command('users.user.get', z.object({ ...Target, ...WithSecrets }), V1User);
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
}

/** v1 `POST /v1/users/create` params. */
export const CreateUserParams = z.object({ password: SipPassword, num: Extension, mail: Email });

export namespace UsersUserCreate {
  export const contract = command(
    'users.user.create',
    z.object({
      ...Scope,
      ...CreateUserParams.shape,
      /**
       * The client's Idempotency-Key, as the gateway's SHA-256 of account and key: the same request
       * retried (after a 503 whose first attempt finished after all) answers the user it created.
       */
      request_id: z.string().regex(/^[0-9a-f]{64}$/).optional(),
    }),
    z.string(),
  );
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
}

export const UpdatePasswordParams = z.object({ password: SipPassword });
export namespace UsersUserUpdatePassword {
  export const contract = command('users.user.update_password', z.object({ ...Target, ...UpdatePasswordParams.shape }), z.null());
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
}

export const UpdateExtensionParams = z.object({ num: Extension });
export namespace UsersUserUpdateExtension {
  export const contract = command('users.user.update_extension', z.object({ ...Target, ...UpdateExtensionParams.shape }), z.null());
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
}

export const UpdateEmailParams = z.object({ mail: Email });
export namespace UsersUserUpdateEmail {
  export const contract = command('users.user.update_email', z.object({ ...Target, ...UpdateEmailParams.shape }), z.null());
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
}

export namespace UsersUserSetVoicemail {
  export const contract = command('users.user.set_voicemail', z.object({ ...Target, enabled: z.boolean() }), z.null());
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
}

/** v1 `POST /v1/users/delete` params (issue 9). */
export const DeleteUserParams = z.object({ user: z.union([UserName, z.number().int().positive().transform(String).pipe(UserName)], { error: (issue) => (issue.input === undefined ? 'user is required' : 'user must be a numeric user name') }) });
export namespace UsersUserDelete {
  export const contract = command('users.user.delete', z.object({ ...Target }), z.null());
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
}

/**
 * What the PBX needs to provision a user (SIP endpoint, extension, voicemail). The SIP secret
 * travels only as the digest Asterisk's `auth_type=md5` accepts: md5("user:realm:password").
 */
export const UserProvisioning = z.object({
  event_id: z.string().uuid(),
  occurred_at: z.string(),
  /** Increases with every change of this user: consumers keep the highest they applied. */
  version: z.number().int().positive(),
  account_id: z.number().int(),
  user: z.string(),
  num: z.string(),
  mail: z.string(),
  voice_mail_box: z.enum(['on', 'off']),
  sip: z.object({ username: z.string(), realm: z.string(), md5_cred: z.string().regex(/^[0-9a-f]{32}$/) }),
  /** Which fields this change touched (all of them for `created`). */
  changed: z.array(z.enum(['password', 'num', 'mail', 'voice_mail_box'])),
});
export type UserProvisioning = z.infer<typeof UserProvisioning>;

export const UsersUserCreated = event('users.user.created', UserProvisioning);
export const UsersUserUpdated = event('users.user.updated', UserProvisioning);

/**
 * A user was deleted: the PBX removes its SIP endpoint, extension and mailbox. `version` is the
 * user's last version + 1, so a late create/update of the same user is stale for consumers; the
 * user name is never given to another user (users-service keeps a tombstone).
 */
export const UserDeprovisioning = z.object({
  event_id: z.string().uuid(),
  occurred_at: z.string(),
  version: z.number().int().positive(),
  account_id: z.number().int(),
  user: z.string(),
  /** The extension it had (its dial plan row and mailbox). */
  num: z.string(),
});
export type UserDeprovisioning = z.infer<typeof UserDeprovisioning>;

export const UsersUserDeleted = event('users.user.deleted', UserDeprovisioning);
