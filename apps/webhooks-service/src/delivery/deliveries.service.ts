import { Injectable } from '@nestjs/common';
import { DomainError } from '@ringcloud/contracts-common';
import { Delivery, WebhooksDeliveryList, WebhooksDeliveryRetry } from '@ringcloud/contracts-webhooks';
import { SubscriptionsService } from '../subscriptions/subscriptions.service';
import { DeliveriesRepository, DeliveryRow } from './deliveries.repository';
import { Dispatcher } from './dispatcher';

export function toDelivery(row: DeliveryRow): Delivery {
  return {
    id: row.id,
    event_id: row.event_id,
    type: row.event_type,
    status: row.status as Delivery['status'],
    attempt: row.attempts,
    time: (row.last_attempt_at ?? row.created_at).toISOString(),
    next_attempt_at: row.status === 'pending' ? row.next_attempt_at.toISOString() : null,
    response_status: row.response_status,
    latency_ms: row.latency_ms,
    error: row.error,
  };
}

/** The delivery log of a subscription, and sending one delivery again. */
@Injectable()
export class DeliveriesService {
  constructor(
    private readonly subscriptions: SubscriptionsService,
    private readonly repository: DeliveriesRepository,
    private readonly dispatcher: Dispatcher,
  ) {}

  async list(req: WebhooksDeliveryList.Request): Promise<Delivery[]> {
    await this.subscriptions.get(req.account_id, req.webhook_id);
    return (await this.repository.list(req.webhook_id, req.limit)).map(toDelivery);
  }

  async retry(req: WebhooksDeliveryRetry.Request): Promise<Delivery> {
    const webhook = await this.subscriptions.get(req.account_id, req.webhook_id);
    if (!webhook.enabled) throw DomainError.badRequest('the webhook is disabled: enable it with update first');
    const row = await this.repository.retry(req.webhook_id, req.delivery_id);
    if (!row) throw DomainError.notFound('Delivery not found');
    this.dispatcher.wake();
    return toDelivery(row);
  }
}
