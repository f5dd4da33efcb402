import 'reflect-metadata';
import { checkOutcome } from '@ringcloud/nest-observability';
import { runNatsService, sampleConsumerLag } from '@ringcloud/nest-nats';
import type { NatsConnection } from '@nats-io/nats-core';
import { CRM_EVENTS_STREAM } from '@ringcloud/contracts-events';
import { AppModule } from './app.module';
import { loadWebhooksConfig } from './config/webhooks-config';
import { NATS_CONNECTION, Resources } from './infra/resources';

/**
 * webhooks-service: the event feed, webhook subscriptions and their deliveries, over NATS (queue
 * group "webhooks-service"), fed by the durable JetStream consumer of CRM_EVENTS.
 * SIGTERM/SIGINT: pulling stops, attempts in flight finish and are recorded, then connections close.
 */
runNatsService({
  name: 'webhooks-service',
  loadConfig: (warn) => loadWebhooksConfig(process.env, warn),
  module: (config) => AppModule.forRoot(config),
  listening: (config) => `listening on NATS ${config.natsUrl}${config.allowLoopbackHttp ? ' (loopback http receivers allowed)' : ''}`,
  readiness: (app, config) => {
    const resources = app.get(Resources);
    sampleConsumerLag(app.get<NatsConnection>(NATS_CONNECTION), CRM_EVENTS_STREAM.name, config.consumerName);
    return async () => ({ database: await checkOutcome(() => resources.checkDatabase(1000), 1500) });
  },
});
