import { DynamicModule, Module, Provider } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import type { NatsConnection } from '@nats-io/nats-core';
import { connectNats, jetstream } from '@ringcloud/nest-nats';
import { DatabaseUnavailableInterceptor } from '@ringcloud/nest-prisma';
import { AccountsRepository } from './accounts/accounts.repository';
import { AccountsService } from './accounts/accounts.service';
import { ApiKeysRepository } from './api-keys/api-keys.repository';
import { ApiKeysService } from './api-keys/api-keys.service';
import { KeyChangeNotifier, NatsKeyChangeNotifier } from './api-keys/key-change-notifier';
import { USERS_CONFIG, UsersConfig } from './config/users-config';
import { AccountsHandler } from './handlers/accounts.handler';
import { ApiKeysHandler } from './handlers/api-keys.handler';
import { HealthHandler } from './handlers/health.handler';
import { NumbersHandler } from './handlers/numbers.handler';
import { UsersHandler } from './handlers/users.handler';
import { PRISMA, createPrismaClient } from './infra/database';
import { Resources } from './infra/resources';
import { NumbersRepository } from './numbers/numbers.repository';
import { NumbersService } from './numbers/numbers.service';
import { JETSTREAM, NATS_CONNECTION, OUTBOX_SWEEP_MS, OutboxRelay, OutboxSignal } from './outbox/outbox-relay';
import { OutboxRepository } from './outbox/outbox.repository';
import { ApiKeySecrets } from './secrets/api-key-secrets';
import { SipPasswordCipher } from './secrets/sip-password-cipher';
import { UsersRepository } from './users/users.repository';
import { SIP_REALM, UsersService } from './users/users.service';

/** The one place users-service is wired: configuration in, handlers out. */
@Module({})
export class AppModule {
  static forRoot(config: UsersConfig): DynamicModule {
    const providers: Provider[] = [
      { provide: USERS_CONFIG, useValue: config },
      { provide: PRISMA, useFactory: () => createPrismaClient(config.databaseUrl) },
      { provide: NATS_CONNECTION, useFactory: () => connectNats(config.natsUrl, 'users-service') },
      { provide: JETSTREAM, useFactory: (nc: NatsConnection) => jetstream(nc, { timeout: 5000 }), inject: [NATS_CONNECTION] },
      { provide: OUTBOX_SWEEP_MS, useValue: config.outboxSweepMs },
      { provide: SIP_REALM, useValue: config.sipRealm },
      { provide: SipPasswordCipher, useFactory: () => new SipPasswordCipher(config.sipSecretKey) },
      { provide: ApiKeySecrets, useFactory: () => new ApiKeySecrets(config.apiKeyPepper) },
      { provide: KeyChangeNotifier, useFactory: (nc: NatsConnection) => new NatsKeyChangeNotifier(nc), inject: [NATS_CONNECTION] },
      OutboxRelay,
      { provide: OutboxSignal, useExisting: OutboxRelay },
      Resources,
      { provide: APP_INTERCEPTOR, useValue: new DatabaseUnavailableInterceptor('users database is unavailable') },
      AccountsRepository,
      ApiKeysRepository,
      UsersRepository,
      NumbersRepository,
      OutboxRepository,
      AccountsService,
      ApiKeysService,
      UsersService,
      NumbersService,
    ];
    return {
      module: AppModule,
      controllers: [UsersHandler, ApiKeysHandler, AccountsHandler, NumbersHandler, HealthHandler],
      providers,
    };
  }
}
