import 'reflect-metadata';
import { checkOutcome } from '@ringcloud/nest-observability';
import { runNatsService, sampleConsumerLag } from '@ringcloud/nest-nats';
import type { NatsConnection } from '@nats-io/nats-core';
import { TELEPHONY_EVENTS_STREAM } from '@ringcloud/contracts-telephony';
import { AppModule } from './app.module';
import { loadCallsConfig } from './config/calls-config';
import { NATS_CONNECTION, Resources } from './infra/resources';

/**
 * calls-service: originate requests, call records, active calls and recordings metadata over NATS
 * (queue group "calls-service"), fed by the durable JetStream consumer of TELEPHONY_EVENTS.
 * SIGTERM/SIGINT: pulling stops, pulled events are applied and acked, then connections close.
 */
runNatsService({
  name: 'calls-service',
  loadConfig: () => loadCallsConfig(process.env),
  module: (config) => AppModule.forRoot(config),
  listening: (config) => `listening on NATS ${config.natsUrl} (PBX time zone ${config.pbxTimeZone})`,
  readiness: (app, config) => {
    const resources = app.get(Resources);
    sampleConsumerLag(app.get<NatsConnection>(NATS_CONNECTION), TELEPHONY_EVENTS_STREAM.name, config.consumer.durableName);
    return async () => ({ database: await checkOutcome(() => resources.checkDatabase(1000), 1500) });
  },
});
