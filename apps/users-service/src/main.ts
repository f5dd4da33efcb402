import 'reflect-metadata';
import { checkOutcome } from '@ringcloud/nest-observability';
import { runNatsService } from '@ringcloud/nest-nats';
import { AppModule } from './app.module';
import { loadUsersConfig } from './config/users-config';
import { Resources } from './infra/resources';

/** users-service: accounts, API keys and users over NATS (queue group "users-service"). */
runNatsService({
  name: 'users-service',
  loadConfig: (warn) => loadUsersConfig(process.env, warn),
  module: (config) => AppModule.forRoot(config),
  listening: (config) => `listening on NATS ${config.natsUrl}`,
  readiness: (app) => {
    const resources = app.get(Resources);
    return async () => ({ database: await checkOutcome(() => resources.checkDatabase(1000), 1500) });
  },
});
