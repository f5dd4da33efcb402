import { CrmEvent, CrmEventType, crmEventId, crmEventSubject } from '@ringcloud/contracts-events';
import type { V1User } from '@ringcloud/contracts-users';
import { OutboxMessage, newOutboxId } from '@ringcloud/nest-outbox';

/**
 * A CRM event (`user.created|updated|deleted`) as an outbox message for CRM_EVENTS: its public id
 * is derived from the outbox row's id, so a re-publication is the same event. The SIP password
 * never travels here: `data` is the v1 user without `password`.
 */
export function crmUserEvent(type: Extract<CrmEventType, `user.${string}`>, accountId: number, data: Record<string, unknown>): OutboxMessage {
  const id = newOutboxId();
  const payload: CrmEvent = { id: crmEventId(id), type, timestamp: new Date().toISOString(), account_id: accountId, data };
  return { id, subject: crmEventSubject(accountId), payload: CrmEvent.parse(payload) };
}

/** The v1 user object of a CRM event: every v1 field but `password`. */
export function crmUser(user: V1User): Record<string, unknown> {
  const { password: _secret, ...data } = user;
  return data;
}
