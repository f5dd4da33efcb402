import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { AppLogger, checkOutcome, enableDefaultMetrics, metricsPortFrom, safeText, startOpsServer } from '@ringcloud/nest-observability';
import { createNatsMicroservice, natsServerOf, sampleConsumerLag } from '@ringcloud/nest-nats';
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
async function bootstrap(): Promise<void> {
  enableDefaultMetrics('calls-service');
  const logger = new Logger('calls-service');
  const config = loadCallsConfig(process.env);
  const metricsPort = metricsPortFrom();
  const app = await createNatsMicroservice(AppModule.forRoot(config), {
    servers: config.natsUrl,
    queue: 'calls-service',
    logger: new AppLogger({ app: 'calls-service', level: config.logLevel }),
  });
  await app.listen();
  logger.log(`listening on NATS ${config.natsUrl} (PBX time zone ${config.pbxTimeZone})`);
  if (metricsPort > 0) {
    const resources = app.get(Resources);
    sampleConsumerLag(app.get<NatsConnection>(NATS_CONNECTION), TELEPHONY_EVENTS_STREAM.name, config.consumer.durableName);
    const ops = await startOpsServer({
      port: metricsPort,
      readiness: async () => ({
        nats: natsServerOf(app).ready ? 'ok' : 'not connected',
        database: await checkOutcome(() => resources.checkDatabase(1000), 1500),
      }),
    });
    logger.log(`metrics and health on :${ops.port}`);
  }
}

bootstrap().catch((err: Error) => {
  // Configuration problems are listed in the message; the stack adds nothing there.
  console.error(safeText(`calls-service failed to start: ${err.message.startsWith('invalid configuration') ? err.message : (err.stack ?? err.message)}`));
  process.exit(1);
});
