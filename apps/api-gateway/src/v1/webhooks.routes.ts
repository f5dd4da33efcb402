import { z } from 'zod';
import { NEXT_CURSOR_HEADER } from '@ringcloud/contracts-common';
import { CRM_EVENT_TYPES, CrmEvent } from '@ringcloud/contracts-events';
import {
  CreateWebhookParams,
  Delivery,
  DeliveriesQuery,
  DeliveryId,
  EventsQuery,
  UpdateWebhookParams,
  Webhook,
  WebhookId,
  WebhookWithSecret,
  WebhooksCreate,
  WebhooksDelete,
  WebhooksDeliveryList,
  WebhooksDeliveryRetry,
  WebhooksEventList,
  WebhooksGet,
  WebhooksList,
  WebhooksRotateSecret,
  WebhooksUpdate,
} from '@ringcloud/contracts-webhooks';
import { perSeconds } from '../config';
import { readQuery } from '../http/json-body';
import type { ResponseHeaderDoc, V1Route } from './routes';

/**
 * Webhooks and the event feed (docs/events.md): each function maps to one webhooks-service
 * command. Another account's webhook or delivery id answers 404, like an unknown one.
 */

export const WEBHOOK_PATH_PARAMS = {
  webhook_id: { schema: WebhookId, notFound: 'Webhook not found', description: 'Webhook id (`wh_…`).' },
  delivery_id: { schema: DeliveryId, notFound: 'Delivery not found', description: 'Delivery id (`dlv_…`).' },
};


/** The query without the credentials, validated by `schema`. */
function ownQuery(schema: z.ZodType, query: URLSearchParams) {
  const own = new URLSearchParams(query);
  own.delete('api_key');
  own.delete('hash');
  return readQuery(schema, own) as any;
}

const FEED_NEXT_CURSOR: ResponseHeaderDoc = {
  name: NEXT_CURSOR_HEADER,
  description: 'The id of the last event of a full page when more follow: pass it as `after` for the next page.',
  schema: { type: 'string' },
};

const SECRET_NOTE =
  '`secret` (`whsec_…`) is shown only in this answer: receivers verify the `webhook-signature` header with it (Standard Webhooks).';

export const WEBHOOK_ROUTES: readonly V1Route[] = [
  {
    id: 'webhooks.create',
    method: 'POST',
    path: '/v1/webhooks/create',
    summary: 'Create a webhook',
    description: `Events: ${CRM_EVENT_TYPES.map((t) => `\`${t}\``).join(', ')}, or \`["*"]\` for all. The URL must be https:// and resolve to a public address. ${SECRET_NOTE}`,
    limit: perSeconds(5),
    access: 'RW',
    params: CreateWebhookParams,
    response: WebhookWithSecret,
    handle: ({ key, params }, { rpc }) => rpc.send(WebhooksCreate.contract, { account_id: key.account_id, ...params }),
  },
  {
    id: 'webhooks.list',
    method: 'GET',
    path: '/v1/webhooks',
    summary: "List the account's webhooks",
    description: 'A webhook the service disabled (410 Gone, retries exhausted) says why in `disabled_reason`.',
    limit: perSeconds(1),
    access: 'RO',
    response: z.array(Webhook),
    handle: ({ key }, { rpc }) => rpc.send(WebhooksList.contract, { account_id: key.account_id }),
  },
  {
    id: 'webhooks.get',
    method: 'GET',
    path: '/v1/webhooks/<webhook_id>',
    summary: 'One webhook',
    limit: perSeconds(1),
    access: 'RO',
    response: Webhook,
    handle: ({ key, path }, { rpc }) => rpc.send(WebhooksGet.contract, { account_id: key.account_id, webhook_id: path.webhook_id }),
  },
  {
    id: 'webhooks.update',
    method: 'POST',
    path: '/v1/webhooks/<webhook_id>/update',
    summary: 'Change a webhook',
    description: 'Any of `url`, `events`, `enabled`, `description`. Enabling a webhook the service disabled resumes its pending deliveries.',
    limit: perSeconds(1),
    access: 'RW',
    params: UpdateWebhookParams,
    response: Webhook,
    handle: ({ key, path, params }, { rpc }) =>
      rpc.send(WebhooksUpdate.contract, { account_id: key.account_id, webhook_id: path.webhook_id, ...params }),
  },
  {
    id: 'webhooks.delete',
    method: 'POST',
    path: '/v1/webhooks/<webhook_id>/delete',
    summary: 'Delete a webhook',
    description: 'Takes no params. Its pending deliveries are dropped.',
    limit: perSeconds(1),
    access: 'RW',
    response: z.null(),
    handle: ({ key, path }, { rpc }) => rpc.send(WebhooksDelete.contract, { account_id: key.account_id, webhook_id: path.webhook_id }),
  },
  {
    id: 'webhooks.rotate_secret',
    method: 'POST',
    path: '/v1/webhooks/<webhook_id>/rotate_secret',
    summary: "Rotate a webhook's signing secret",
    description: `Takes no params. The previous secret keeps signing too (a second signature in \`webhook-signature\`) for 24 hours. ${SECRET_NOTE}`,
    limit: perSeconds(5),
    access: 'RW',
    response: WebhookWithSecret,
    handle: ({ key, path }, { rpc }) => rpc.send(WebhooksRotateSecret.contract, { account_id: key.account_id, webhook_id: path.webhook_id }),
  },
  {
    id: 'webhooks.deliveries.list',
    method: 'GET',
    path: '/v1/webhooks/<webhook_id>/deliveries',
    summary: "A webhook's deliveries, newest first",
    description: 'Each with its latest attempt: number, time, response status, latency and error.',
    limit: perSeconds(1),
    access: 'RO',
    query: [{ name: 'limit', description: 'How many, 1–1000 (default 100).', schema: { type: 'integer', minimum: 1, maximum: 1000 } }],
    response: z.array(Delivery),
    handle: ({ key, path, query }, { rpc }) =>
      rpc.send(WebhooksDeliveryList.contract, { account_id: key.account_id, webhook_id: path.webhook_id, ...ownQuery(DeliveriesQuery, query) }),
  },
  {
    id: 'webhooks.deliveries.retry',
    method: 'POST',
    path: '/v1/webhooks/<webhook_id>/deliveries/<delivery_id>/retry',
    summary: 'Send a delivery again',
    description: 'Takes no params. The delivery becomes pending and is sent after the earlier pending deliveries of its webhook.',
    limit: perSeconds(1),
    access: 'RW',
    response: Delivery,
    handle: ({ key, path }, { rpc }) =>
      rpc.send(WebhooksDeliveryRetry.contract, { account_id: key.account_id, webhook_id: path.webhook_id, delivery_id: path.delivery_id }),
  },
  {
    id: 'events.list',
    method: 'GET',
    path: '/v1/events',
    summary: "The account's events, oldest first",
    description:
      'The same bodies the webhooks deliver, kept 7 days. Page with `after=<the last id seen>`; `X-Next-Cursor` carries the ' +
      'last id of the page when more follow. An unknown or expired `after` → 400.',
    limit: perSeconds(1),
    access: 'RO',
    query: [
      { name: 'after', description: 'An event id: only events stored after it.', schema: { type: 'string' } },
      { name: 'cursor', description: 'Another name for `after` (as in the other v1 lists).', schema: { type: 'string' } },
      { name: 'limit', description: 'How many, 1–1000 (default 100).', schema: { type: 'integer', minimum: 1, maximum: 1000 } },
    ],
    response: z.array(CrmEvent),
    responseHeaders: [FEED_NEXT_CURSOR],
    handle: async ({ key, query, setHeader }, { rpc }) => {
      const page = await rpc.send(WebhooksEventList.contract, { account_id: key.account_id, ...ownQuery(EventsQuery, query) });
      if (page.next_cursor) setHeader(NEXT_CURSOR_HEADER, page.next_cursor);
      return page.events;
    },
  },
];
