import { DynamicModule, Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import type { NatsConnection } from '@nats-io/nats-core';
import { CRM_EVENTS_STREAM } from '@ringcloud/contracts-events';
import { JetStreamClient, NatsClientModule, connectNats, jetstream } from '@ringcloud/nest-nats';
import { OutboxRelay, OutboxSignal, OutboxStore } from '@ringcloud/nest-outbox';
import { DatabaseUnavailableInterceptor } from '@ringcloud/nest-prisma';
import { CallsRepository } from './calls/calls.repository';
import { CallsService } from './calls/calls.service';
import { CALLS_CONFIG, CallsConfig } from './config/calls-config';
import { AnnounceNow } from './crm/announce-now';
import { CompletionSweeper } from './crm/completion-sweeper';
import { CrmAnnouncer } from './crm/crm-announcer';
import { CallEventsRepository } from './events/call-events.repository';
import { EventBatchProcessor } from './events/event-batch.processor';
import { ProcessedEventsPruner } from './events/processed-events.pruner';
import { TelephonyEventsConsumer } from './events/telephony-events.consumer';
import { CallsHandler } from './handlers/calls.handler';
import { HealthHandler } from './handlers/health.handler';
import { RecordingsHandler } from './handlers/recordings.handler';
import { PRISMA, PrismaClient, createPrismaClient } from './infra/database';
import { isDatabaseUnavailable } from './infra/prisma-errors';
import { JETSTREAM, NATS_CONNECTION, Resources } from './infra/resources';
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
        { provide: JETSTREAM, useFactory: (nc: NatsConnection) => jetstream(nc, { timeout: 5000 }), inject: [NATS_CONNECTION] },
        // CRM events: written to the outbox with the call changes that make them due, published to CRM_EVENTS.
        { provide: OutboxStore, useFactory: (prisma: PrismaClient) => new OutboxStore(prisma), inject: [PRISMA] },
        {
          provide: OutboxRelay,
          useFactory: (store: OutboxStore, js: JetStreamClient, nc: NatsConnection) =>
            new OutboxRelay({ store, js, nc, streams: [CRM_EVENTS_STREAM], sweepMs: config.outboxSweepMs }),
          inject: [OutboxStore, JETSTREAM, NATS_CONNECTION],
        },
        { provide: OutboxSignal, useExisting: OutboxRelay },
        CrmAnnouncer,
        AnnounceNow,
        CompletionSweeper,
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
