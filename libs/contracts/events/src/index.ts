import { createHash } from 'node:crypto';
import { z } from 'zod';

/**
 * CRM events: what a CRM receives by webhook and reads from the event feed (`GET /v1/events`).
 * Producers (calls-service for calls and recordings, users-service for users) publish them to the
 * JetStream stream CRM_EVENTS, one subject per account; webhooks-service stores them (the feed,
 * 7 days) and delivers them. The body is the same everywhere:
 *
 *   {"id":"evt_…","type":"call.ringing","timestamp":"2026-12-02T10:00:00.000Z","account_id":1001,"data":{…}}
 *
 * A call's events carry `data.call_id` and `data.sequence` (0, 1, 2… per call) so a receiver can
 * order them; the same fact always has the same `id` (it is derived from the producer's own fact id),
 * so a re-publication is dropped by the stream's duplicate window and by the store.
 */

export const CRM_EVENT_TYPES = [
  'call.started',
  'call.ringing',
  'call.answered',
  'call.transferred',
  'call.completed',
  'recording.ready',
  'user.created',
  'user.updated',
  'user.deleted',
] as const;
export const CrmEventType = z.enum(CRM_EVENT_TYPES);
export type CrmEventType = z.infer<typeof CrmEventType>;

export const CrmEventId = z.string().regex(/^evt_[a-z2-7]{26}$/, 'malformed event id');

export const CrmEvent = z.object({
  id: CrmEventId,
  type: CrmEventType,
  /** ISO 8601, UTC, milliseconds. */
  timestamp: z.string().datetime(),
  account_id: z.number().int().positive(),
  data: z.record(z.string(), z.unknown()),
});
export type CrmEvent = z.infer<typeof CrmEvent>;

/** The per-call ordering fields every `call.*` and `recording.ready` event's data carries. */
export const CallEventData = z.looseObject({ call_id: z.string(), sequence: z.number().int().nonnegative() });

export const CRM_EVENTS_STREAM = { name: 'CRM_EVENTS', subjects: ['crm.events.*'] } as const;

/** The subject of an account's events (accounts are positive integers: no escaping needed). */
export const crmEventSubject = (accountId: number) => `crm.events.${accountId}`;

/**
 * The public id of a fact: `evt_` + 26 base32 characters of sha256(producer's fact id), so the
 * same fact published twice (a redelivery, a replay, a second replica) is the same event.
 */
export function crmEventId(factId: string): string {
  const digest = createHash('sha256').update(factId).digest();
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of digest) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < 26) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    if (out.length === 26) break;
  }
  return `evt_${out}`;
}
