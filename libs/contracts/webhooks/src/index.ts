import { z } from 'zod';
import { AccountId, command, healthSubject } from '@ringcloud/contracts-common';
import { CRM_EVENT_TYPES, CrmEvent, CrmEventId } from '@ringcloud/contracts-events';

/**
 * webhooks-service: webhook subscriptions, their deliveries and the event feed (docs/events.md).
 * The gateway validates HTTP input with the `…Params` schemas; the service validates every
 * command again.
 */

export const WebhookId = z.string().regex(/^wh_[a-z2-7]{26}$/, 'malformed webhook id');
export const DeliveryId = z.string().regex(/^dlv_[a-z2-7]{26}$/, 'malformed delivery id');

/** A host name's labels (letters, digits, `-` inside, `_` as some DNS has), an IPv4 address, or a bracketed IPv6 one. */
const HOST_NAME = /^(?=.{1,253}\.?$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/;

/**
 * `scheme://host…` as written: the URL parser also takes `https:example.com`, `https:/x`,
 * `https:////x` and backslashes for slashes, and hosts such as `-` or `a..b` — it guesses what was
 * meant, and the url is stored and shown as given.
 */
function isAbsoluteWebUrl(value: string): boolean {
  if (!/^https?:\/\/[^/\\?#]/i.test(value) || value.includes('\\')) return false;
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && (url.hostname.startsWith('[') || HOST_NAME.test(url.hostname));
  } catch {
    return false;
  }
}

/** https://… (http:// only reaches a receiver when the operator allows loopback http). */
export const WebhookUrl = z
  .string({ error: (issue) => (issue.input === undefined ? 'url is required' : 'url must be a string') })
  .max(2048, 'url is too long: at most 2048 characters')
  .refine(isAbsoluteWebUrl, 'url must be an absolute https:// URL')
  .refine((value) => !/[\s]/.test(value), 'url must not contain spaces')
  // The URL parser would percent-encode or drop them, but the url is stored and shown as given.
  .refine((value) => !/[\x00-\x1f\x7f]/.test(value), 'url must not contain control characters')
  .refine((value) => {
    try {
      const url = new URL(value);
      return url.username === '' && url.password === '';
    } catch {
      return true;
    }
  }, 'url must not contain credentials')
  .refine((value) => {
    try {
      return new URL(value).port !== '0';
    } catch {
      return true;
    }
  }, 'url must not use port 0');

export const WEBHOOK_EVENT_FILTERS = ['*', ...CRM_EVENT_TYPES] as const;

const eventsMessage = `events must be a non-empty list of event types (${CRM_EVENT_TYPES.join(', ')}) or ["*"]`;
export const WebhookEvents = z
  .array(z.enum(WEBHOOK_EVENT_FILTERS, { error: eventsMessage }), {
    error: (issue) => (issue.input === undefined ? 'events is required' : eventsMessage),
  })
  .min(1, eventsMessage)
  .max(WEBHOOK_EVENT_FILTERS.length, eventsMessage)
  .transform((events): Array<(typeof WEBHOOK_EVENT_FILTERS)[number]> => (events.includes('*') ? ['*'] : [...new Set(events)]));

export const WebhookDescription = z
  .string({ error: 'description must be a string' })
  .max(256, 'description is too long: at most 256 characters')
  .regex(/^[^\x00-\x1f\x7f]*$/, 'description must not contain control characters');

/** `POST /v1/webhooks/create` params. */
export const CreateWebhookParams = z.strictObject({
  url: WebhookUrl,
  events: WebhookEvents,
  description: WebhookDescription.nullable().optional(),
});

/** `POST /v1/webhooks/<id>/update` params: any of the fields, at least one. */
export const UpdateWebhookParams = z
  .strictObject({
    url: WebhookUrl.optional(),
    events: WebhookEvents.optional(),
    enabled: z.boolean({ error: 'enabled must be true or false' }).optional(),
    description: WebhookDescription.nullable().optional(),
  })
  .refine((p) => Object.values(p).some((v) => v !== undefined), 'params must name at least one of url, events, enabled, description');

/** A subscription as the API shows it. `secret` only in the answers of create and rotate_secret. */
export const Webhook = z.object({
  id: WebhookId,
  url: z.string(),
  events: z.array(z.string()),
  enabled: z.boolean(),
  description: z.string().nullable(),
  /** Why the service disabled it (410 Gone, retries exhausted); null when enabled or disabled by the client. */
  disabled_reason: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type Webhook = z.infer<typeof Webhook>;

export const WebhookWithSecret = Webhook.extend({ secret: z.string().regex(/^whsec_[A-Za-z0-9+/]+=*$/) });
export type WebhookWithSecret = z.infer<typeof WebhookWithSecret>;

export const DeliveryStatus = z.enum(['pending', 'delivered', 'failed']);

/** One delivery of one event to one subscription, with its latest attempt. */
export const Delivery = z.object({
  id: DeliveryId,
  event_id: CrmEventId,
  type: z.string(),
  status: DeliveryStatus,
  /** Attempts made so far (0 before the first). */
  attempt: z.number().int().nonnegative(),
  /** Time of the latest attempt, or when the delivery was created if none yet (ISO 8601). */
  time: z.string(),
  next_attempt_at: z.string().nullable(),
  response_status: z.number().int().nullable(),
  latency_ms: z.number().int().nullable(),
  error: z.string().nullable(),
});
export type Delivery = z.infer<typeof Delivery>;

const account = { account_id: AccountId };
const webhook = { ...account, webhook_id: WebhookId };

export namespace WebhooksCreate {
  export const contract = command(
    'webhooks.subscription.create',
    z.object({ ...account, url: WebhookUrl, events: WebhookEvents, description: WebhookDescription.nullable().optional() }),
    WebhookWithSecret,
  );
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
}

export namespace WebhooksList {
  export const contract = command('webhooks.subscription.list', z.object(account), z.array(Webhook));
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
}

export namespace WebhooksGet {
  /** NOT_FOUND for an unknown id or another account's. */
  export const contract = command('webhooks.subscription.get', z.object(webhook), Webhook);
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
}

export namespace WebhooksUpdate {
  export const contract = command(
    'webhooks.subscription.update',
    z.object({
      ...webhook,
      url: WebhookUrl.optional(),
      events: WebhookEvents.optional(),
      enabled: z.boolean().optional(),
      description: WebhookDescription.nullable().optional(),
    }),
    Webhook,
  );
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
}

export namespace WebhooksDelete {
  export const contract = command('webhooks.subscription.delete', z.object(webhook), z.null());
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
}

export namespace WebhooksRotateSecret {
  /** A new secret; the previous one keeps signing too (a second signature) for 24 h. */
  export const contract = command('webhooks.subscription.rotate_secret', z.object(webhook), WebhookWithSecret);
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
}

/**
 * A page size: a number in a command, digits in a query string — as `limit` of the other v1 lists
 * (`1e1`, `+5`, `1.0` are refused there too, not read as the number they could mean).
 */
export const Limit = (max: number, fallback: number) => {
  const message = `limit must be a whole number from 1 to ${max}`;
  return z
    .preprocess((v) => (typeof v === 'string' ? (/^[0-9]{1,7}$/.test(v) ? Number(v) : Number.NaN) : v), z.number({ error: message }).int(message).min(1, message).max(max, message))
    .default(fallback);
};

/** `GET /v1/webhooks/<id>/deliveries` query. */
export const DeliveriesQuery = z.object({ limit: Limit(1000, 100) }); // unknown parameters are ignored (v1 section 1)

export namespace WebhooksDeliveryList {
  /** Newest first. */
  export const contract = command('webhooks.delivery.list', z.object({ ...webhook, limit: Limit(1000, 100) }), z.array(Delivery));
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
}

export namespace WebhooksDeliveryRetry {
  /** Sends the delivery again as soon as its subscription's earlier deliveries are done. */
  export const contract = command('webhooks.delivery.retry', z.object({ ...webhook, delivery_id: DeliveryId }), Delivery);
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
}

const EventIdParam = (name: string) => z.string().regex(/^evt_[a-z2-7]{26}$/, `${name} must be an event id (evt_…)`);
/**
 * `GET /v1/events` query. `cursor`, the paging parameter of the other v1 lists, is another name for
 * `after` (a client passing X-Next-Cursor back as `cursor` pages instead of reading page one again);
 * unknown parameters are ignored (v1 section 1).
 */
export const EventsQuery = z
  .object({ after: EventIdParam('after').optional(), cursor: EventIdParam('cursor').optional(), limit: Limit(1000, 100) })
  .refine((q) => !q.after || !q.cursor || q.after === q.cursor, 'after and cursor name the same position: give one')
  .transform(({ cursor, ...q }) => ({ ...q, after: q.after ?? cursor }));

export namespace WebhooksEventList {
  /** The account's events in the order stored, after `after`; BAD_REQUEST when `after` is unknown or expired. */
  export const contract = command(
    'webhooks.event.list',
    z.object({ ...account, after: CrmEventId.optional(), limit: Limit(1000, 100) }),
    z.object({ events: z.array(CrmEvent), next_cursor: CrmEventId.nullable() }),
  );
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
}

export namespace WebhooksHealthPing {
  export const contract = command(healthSubject('webhooks'), z.object({}), z.object({ status: z.literal('ok') }));
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
}
