import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { logLevels } from '@ringcloud/nest-config';
import { createNatsMicroservice } from '@ringcloud/nest-nats';
import { AppModule } from './app.module';
import { loadTelephonyConfig } from './config/telephony-config';

/**
 * telephony-adapter: the only component talking to Asterisk. NATS commands (queue group
 * "telephony-adapter"), AMI session to the PBX node, telephony events to JetStream, PBX
 * provisioning from users-service events. SIGTERM/SIGINT shut it down gracefully.
 */
async function bootstrap(): Promise<void> {
  const logger = new Logger('telephony-adapter');
  const config = loadTelephonyConfig(process.env, (line) => logger.warn(line));
  const app = await createNatsMicroservice(AppModule.forRoot(config), {
    servers: config.natsUrl,
    queue: 'telephony-adapter',
    logger: logLevels(config.logLevel),
  });
  await app.listen();
  logger.log(`listening on NATS ${config.natsUrl}; PBX node ${config.node} at ${config.ami.host}:${config.ami.port}`);
}

bootstrap().catch((err: Error) => {
  console.error(`telephony-adapter failed to start: ${err.message.startsWith('invalid configuration') ? err.message : (err.stack ?? err.message)}`);
  process.exit(1);
});
