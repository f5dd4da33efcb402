import { DynamicModule, Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { connectNats } from '@ringcloud/nest-nats';
import { DatabaseUnavailableInterceptor, isDatabaseConnectionFailure, isDatabaseUnavailable } from '@ringcloud/nest-prisma';
import { SecretCipher } from '@ringcloud/secret-cipher';
import { WEBHOOKS_CONFIG, WebhooksConfig } from './config/webhooks-config';
import { AddressGuard } from './delivery/address-guard';
import { DeliveriesRepository } from './delivery/deliveries.repository';
import { DeliveriesService } from './delivery/deliveries.service';
import { Dispatcher } from './delivery/dispatcher';
import { HttpSender } from './delivery/http-sender';
import { FeedService } from './feed/feed.service';
import { HealthHandler } from './handlers/health.handler';
import { WebhooksHandler } from './handlers/webhooks.handler';
import { PRISMA, createPrismaClient } from './infra/database';
import { NATS_CONNECTION, Resources } from './infra/resources';
import { Sql } from './infra/sql';
import { CrmEventsConsumer } from './ingest/crm-events.consumer';
import { EventsRepository } from './ingest/events.repository';
import { SubscriptionsService } from './subscriptions/subscriptions.service';

/** The one place webhooks-service is wired: configuration in, handlers, the consumer and the dispatcher out. */
@Module({})
export class AppModule {
  static forRoot(config: WebhooksConfig): DynamicModule {
    const guard = new AddressGuard(config.allowLoopbackHttp);
    return {
      module: AppModule,
      controllers: [WebhooksHandler, HealthHandler],
      providers: [
        { provide: WEBHOOKS_CONFIG, useValue: config },
        { provide: PRISMA, useFactory: () => createPrismaClient(config.databaseUrl) },
        { provide: Sql, useFactory: () => new Sql(config.databaseUrl) },
        { provide: NATS_CONNECTION, useFactory: () => connectNats(config.natsUrl, 'webhooks-service') },
        { provide: SecretCipher, useValue: new SecretCipher(config.secretKey, 'webhook secret key') },
        { provide: AddressGuard, useValue: guard },
        { provide: HttpSender, useValue: new HttpSender(guard, config.timeoutMs) },
        {
          provide: APP_INTERCEPTOR,
          useValue: new DatabaseUnavailableInterceptor('webhooks database is unavailable', (err) => isDatabaseUnavailable(err) || isDatabaseConnectionFailure(err)),
        },
        Resources,
        SubscriptionsService,
        DeliveriesRepository,
        DeliveriesService,
        Dispatcher,
        EventsRepository,
        CrmEventsConsumer,
        FeedService,
      ],
    };
  }
}
