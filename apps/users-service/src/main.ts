import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { logLevels } from '@ringcloud/nest-config';
import { createNatsMicroservice } from '@ringcloud/nest-nats';
import { AppModule } from './app.module';
import { loadUsersConfig } from './config/users-config';

/** users-service: accounts, API keys and users over NATS (queue group "users-service"). */
async function bootstrap(): Promise<void> {
  const logger = new Logger('users-service');
  const config = loadUsersConfig(process.env, (line) => logger.warn(line));
  const app = await createNatsMicroservice(AppModule.forRoot(config), {
    servers: config.natsUrl,
    queue: 'users-service',
    logger: logLevels(config.logLevel),
  });
  await app.listen();
  logger.log(`listening on NATS ${config.natsUrl}`);
}

bootstrap().catch((err: Error) => {
  // Configuration problems are listed in the message; the stack adds nothing there.
  console.error(`users-service failed to start: ${err.message.startsWith('invalid configuration') ? err.message : (err.stack ?? err.message)}`);
  process.exit(1);
});
