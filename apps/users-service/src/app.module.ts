import { DynamicModule, Module, Provider } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import type { NatsConnection } from '@nats-io/nats-core';
import { connectNats, jetstream } from '@ringcloud/nest-nats';
import { DatabaseUnavailableInterceptor } from '@ringcloud/nest-prisma';
import { OutboxRelay, OutboxSignal, OutboxStore } from '@ringcloud/nest-outbox';
import { USERS_EVENTS_STREAM } from '@ringcloud/contracts-users';
import { CRM_EVENTS_STREAM } from '@ringcloud/contracts-events';
import type { JetStreamClient } from '@ringcloud/nest-nats';
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
import { PRISMA, PrismaClient, createPrismaClient } from './infra/database';
import { JETSTREAM, NATS_CONNECTION } from './infra/nats';
import { Resources } from './infra/resources';
import { NumbersRepository } from './numbers/numbers.repository';
import { NumbersService } from './numbers/numbers.service';
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
      { provide: SIP_REALM, useValue: config.sipRealm },
      { provide: SipPasswordCipher, useFactory: () => new SipPasswordCipher(config.sipSecretKey) },
      { provide: ApiKeySecrets, useFactory: () => new ApiKeySecrets(config.apiKeyPepper) },
      { provide: KeyChangeNotifier, useFactory: (nc: NatsConnection) => new NatsKeyChangeNotifier(nc), inject: [NATS_CONNECTION] },
      { provide: OutboxStore, useFactory: (prisma: PrismaClient) => new OutboxStore(prisma), inject: [PRISMA] },
      {
        provide: OutboxRelay,
        useFactory: (store: OutboxStore, js: JetStreamClient, nc: NatsConnection) =>
          new OutboxRelay({ store, js, nc, streams: [USERS_EVENTS_STREAM, CRM_EVENTS_STREAM], sweepMs: config.outboxSweepMs }),
        inject: [OutboxStore, JETSTREAM, NATS_CONNECTION],
      },
      { provide: OutboxSignal, useExisting: OutboxRelay },
      Resources,
      { provide: APP_INTERCEPTOR, useValue: new DatabaseUnavailableInterceptor('users database is unavailable') },
      AccountsRepository,
      ApiKeysRepository,
      UsersRepository,
      NumbersRepository,
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
