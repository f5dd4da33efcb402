import { Controller } from '@nestjs/common';
import { Ctx, NatsContext, Payload } from '@nestjs/microservices';
import { Command, requesterDeadline } from '@ringcloud/nest-nats';
import {
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
import { DeliveriesService } from '../delivery/deliveries.service';
import { FeedService } from '../feed/feed.service';
import { SubscriptionsService } from '../subscriptions/subscriptions.service';

/** NATS commands on webhooks and the feed: decode (validated by @Command), delegate, answer. */
@Controller()
export class WebhooksHandler {
  constructor(
    private readonly subscriptions: SubscriptionsService,
    private readonly deliveries: DeliveriesService,
    private readonly feed: FeedService,
  ) {}

  @Command(WebhooksCreate.contract)
  create(@Payload() req: WebhooksCreate.Request, @Ctx() ctx: NatsContext): Promise<WebhooksCreate.Response> {
    return this.subscriptions.create(req, requesterDeadline(ctx.getHeaders()));
  }

  @Command(WebhooksList.contract)
  list(@Payload() req: WebhooksList.Request): Promise<WebhooksList.Response> {
    return this.subscriptions.list(req.account_id);
  }

  @Command(WebhooksGet.contract)
  get(@Payload() req: WebhooksGet.Request): Promise<WebhooksGet.Response> {
    return this.subscriptions.get(req.account_id, req.webhook_id);
  }

  @Command(WebhooksUpdate.contract)
  update(@Payload() req: WebhooksUpdate.Request): Promise<WebhooksUpdate.Response> {
    return this.subscriptions.update(req);
  }

  @Command(WebhooksDelete.contract)
  delete(@Payload() req: WebhooksDelete.Request): Promise<WebhooksDelete.Response> {
    return this.subscriptions.delete(req.account_id, req.webhook_id);
  }

  @Command(WebhooksRotateSecret.contract)
  rotateSecret(@Payload() req: WebhooksRotateSecret.Request): Promise<WebhooksRotateSecret.Response> {
    return this.subscriptions.rotateSecret(req.account_id, req.webhook_id);
  }

  @Command(WebhooksDeliveryList.contract)
  deliveryList(@Payload() req: WebhooksDeliveryList.Request): Promise<WebhooksDeliveryList.Response> {
    return this.deliveries.list(req);
  }

  @Command(WebhooksDeliveryRetry.contract)
  deliveryRetry(@Payload() req: WebhooksDeliveryRetry.Request): Promise<WebhooksDeliveryRetry.Response> {
    return this.deliveries.retry(req);
  }

  @Command(WebhooksEventList.contract)
  events(@Payload() req: WebhooksEventList.Request): Promise<WebhooksEventList.Response> {
    return this.feed.list(req);
  }
}
