import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { logLevels } from '@ringcloud/nest-config';
import { createNatsMicroservice } from '@ringcloud/nest-nats';
import { AppModule } from './app.module';
import { loadCallsConfig } from './config/calls-config';

/**
 * calls-service: originate requests, call records, active calls and recordings metadata over NATS
 * (queue group "calls-service"), fed by the durable JetStream consumer of TELEPHONY_EVENTS.
 * SIGTERM/SIGINT: pulling stops, pulled events are applied and acked, then connections close.
 */
async function bootstrap(): Promise<void> {
  const logger = new Logger('calls-service');
  const config = loadCallsConfig(process.env);
  const app = await createNatsMicroservice(AppModule.forRoot(config), {
    servers: config.natsUrl,
    queue: 'calls-service',
    logger: logLevels(config.logLevel),
  });
  await app.listen();
  logger.log(`listening on NATS ${config.natsUrl} (PBX time zone ${config.pbxTimeZone})`);
}

bootstrap().catch((err: Error) => {
  // Configuration problems are listed in the message; the stack adds nothing there.
  console.error(`calls-service failed to start: ${err.message.startsWith('invalid configuration') ? err.message : (err.stack ?? err.message)}`);
  process.exit(1);
});
