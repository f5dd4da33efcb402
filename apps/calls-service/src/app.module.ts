import { DynamicModule, Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { NatsClientModule, connectNats } from '@ringcloud/nest-nats';
import { DatabaseUnavailableInterceptor } from '@ringcloud/nest-prisma';
import { CallsRepository } from './calls/calls.repository';
import { CallsService } from './calls/calls.service';
import { CALLS_CONFIG, CallsConfig } from './config/calls-config';
import { CallEventsRepository } from './events/call-events.repository';
import { EventBatchProcessor } from './events/event-batch.processor';
import { ProcessedEventsPruner } from './events/processed-events.pruner';
import { TelephonyEventsConsumer } from './events/telephony-events.consumer';
import { CallsHandler } from './handlers/calls.handler';
import { HealthHandler } from './handlers/health.handler';
import { RecordingsHandler } from './handlers/recordings.handler';
import { PRISMA, createPrismaClient } from './infra/database';
import { isDatabaseUnavailable } from './infra/prisma-errors';
import { NATS_CONNECTION, Resources } from './infra/resources';
import { OriginateRepository } from './originate/originate.repository';
import { OriginateService } from './originate/originate.service';
import { RecordingsRepository } from './recordings/recordings.repository';
import { RecordingsService } from './recordings/recordings.service';
import { PbxClock } from './time/pbx-clock';
import { UserDirectory } from './users/user-directory';

/** The one place calls-service is wired: configuration in, handlers and the event consumer out. */
@Module({})
export class AppModule {
  static forRoot(config: CallsConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [NatsClientModule.forRoot({ servers: config.natsUrl, requestTimeoutMs: config.natsRequestTimeoutMs, name: 'calls-service' })],
      controllers: [CallsHandler, RecordingsHandler, HealthHandler],
      providers: [
        { provide: CALLS_CONFIG, useValue: config },
        { provide: PRISMA, useFactory: () => createPrismaClient(config.databaseUrl) },
        { provide: NATS_CONNECTION, useFactory: () => connectNats(config.natsUrl, 'calls-service') },
        { provide: PbxClock, useValue: new PbxClock(config.pbxTimeZone) },
        { provide: APP_INTERCEPTOR, useValue: new DatabaseUnavailableInterceptor('calls database is unavailable', isDatabaseUnavailable) },
        Resources,
        UserDirectory,
        OriginateRepository,
        OriginateService,
        CallsRepository,
        CallsService,
        RecordingsRepository,
        RecordingsService,
        CallEventsRepository,
        EventBatchProcessor,
        ProcessedEventsPruner,
        TelephonyEventsConsumer,
      ],
    };
  }
}
