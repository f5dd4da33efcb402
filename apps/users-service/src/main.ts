import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { AppLogger, checkOutcome, enableDefaultMetrics, metricsPortFrom, safeText, startOpsServer } from '@ringcloud/nest-observability';
import { createNatsMicroservice, natsServerOf } from '@ringcloud/nest-nats';
import { AppModule } from './app.module';
import { loadUsersConfig } from './config/users-config';
import { Resources } from './infra/resources';

/** users-service: accounts, API keys and users over NATS (queue group "users-service"). */
async function bootstrap(): Promise<void> {
  enableDefaultMetrics('users-service');
  const logger = new Logger('users-service');
  const config = loadUsersConfig(process.env, (line) => logger.warn(line));
  const metricsPort = metricsPortFrom();
  const app = await createNatsMicroservice(AppModule.forRoot(config), {
    servers: config.natsUrl,
    queue: 'users-service',
    logger: new AppLogger({ app: 'users-service', level: config.logLevel }),
  });
  await app.listen();
  logger.log(`listening on NATS ${config.natsUrl}`);
  if (metricsPort > 0) {
    const resources = app.get(Resources);
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
  console.error(safeText(`users-service failed to start: ${err.message.startsWith('invalid configuration') ? err.message : (err.stack ?? err.message)}`));
  process.exit(1);
});
