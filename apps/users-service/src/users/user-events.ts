import { createHash, randomUUID } from 'node:crypto';
import { UserDeprovisioning, UserProvisioning, UsersUserCreated, UsersUserDeleted, UsersUserUpdated } from '@ringcloud/contracts-users';
import type { UserRow } from './users.repository';

export type ChangedField = UserProvisioning['changed'][number];
export const ALL_FIELDS: ChangedField[] = ['password', 'num', 'mail', 'voice_mail_box'];

/**
 * The provisioning event for a user's state after a change. The SIP secret leaves the service
 * only as Asterisk's md5 credential, md5("user:realm:password").
 */
export function provisioningEvent(
  kind: 'created' | 'updated',
  row: UserRow,
  sipPassword: string,
  realm: string,
  changed: ChangedField[],
): { id: string; subject: string; payload: UserProvisioning } {
  const id = randomUUID();
  const payload: UserProvisioning = {
    event_id: id,
    occurred_at: new Date().toISOString(),
    version: row.version,
    account_id: row.accountId,
    user: row.username,
    num: row.extension,
    mail: row.email,
    voice_mail_box: row.voicemail ? 'on' : 'off',
    sip: {
      username: row.username,
      realm,
      md5_cred: createHash('md5').update(`${row.username}:${realm}:${sipPassword}`, 'utf8').digest('hex'),
    },
    changed,
  };
  return { id, subject: (kind === 'created' ? UsersUserCreated : UsersUserUpdated).subject, payload: UserProvisioning.parse(payload) };
}

/** The deprovisioning event of a deleted user (`version`: its last + 1). */
export function deprovisioningEvent(row: UserRow, version: number): { id: string; subject: string; payload: UserDeprovisioning } {
  const id = randomUUID();
  const payload: UserDeprovisioning = {
    event_id: id,
    occurred_at: new Date().toISOString(),
    version,
    account_id: row.accountId,
    user: row.username,
    num: row.extension,
  };
  return { id, subject: UsersUserDeleted.subject, payload: UserDeprovisioning.parse(payload) };
}
