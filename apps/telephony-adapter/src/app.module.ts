import {
  BeforeApplicationShutdown,
  DynamicModule,
  Inject,
  Injectable,
  Logger,
  Module,
  OnApplicationBootstrap,
  OnApplicationShutdown,
  Provider,
} from '@nestjs/common';
import type { NatsConnection } from '@nats-io/nats-core';
import { TELEPHONY_EVENTS_STREAM } from '@ringcloud/contracts-telephony';
import { CallsOpenOnNode } from '@ringcloud/contracts-calls';
import { RpcClient, connectNats, drainOrClose, ensureStream, isAway, jetstream } from '@ringcloud/nest-nats';
import { OutboxRelay, OutboxStore } from '@ringcloud/nest-outbox';
import { AmiSession } from './ami/ami-session';
import { CallNormaliser } from './calls/call-normaliser';
import { Registrations } from './calls/registrations';
import { EventOutbox } from './calls/event-outbox';
import { TelephonyEventPublisher } from './calls/event-publisher';
import { PbxEventPipeline } from './calls/pbx-event-pipeline';
import { ChannelsService } from './channels/channels.service';
import { ContextTemplate, TELEPHONY_CONFIG, TelephonyConfig } from './config/telephony-config';
import { HealthHandler } from './handlers/health.handler';
import { TelephonyHandler } from './handlers/telephony.handler';
import { PRISMA, PrismaClient, createPrismaClient } from './infra/database';
import { OriginateRepository } from './originate/originate.repository';
import { OriginateService } from './originate/originate.service';
import { DialplanReloader } from './provisioning/dialplan-reloader';
import { ProvisioningConsumer } from './provisioning/provisioning.consumer';
import { ProvisioningService } from './provisioning/provisioning.service';
import { RecordingJobsRepository } from './recordings/recording-jobs.repository';
import { RecordingStore, RecordingsService } from './recordings/recordings.service';
import { UserDirectory } from './users/user-directory';
import { UserRegistrations } from './users/user-registrations';

export const NATS_CONNECTION = Symbol('NATS_CONNECTION');
/** How often the relay looks for spilled events NATS did not take yet (they are rare: NATS was away). */
const OUTBOX_SWEEP_MS = 5000;
/** originate_requests are kept this long (OriginateRepository.prune), pruned at start and hourly. */
const KEEP_ORIGINATES_MS = 7 * 86_400_000;

/**
 * Start and stop order: streams and bucket first, then the PBX session and the provisioning
 * consumer; on shutdown the inputs stop first, then what is in flight is finished (recordings,
 * queued events), then the connections close.
 */
@Injectable()
export class TelephonyLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('telephony-adapter');
  private pruneTimer?: NodeJS.Timeout;
  /** Whether NATS was away when the shutdown began (connection without its server, or the last publish failed): nothing waits for it. */
  private natsAway = false;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    private readonly directory: UserDirectory,
    private readonly store: RecordingStore,
    private readonly pipeline: PbxEventPipeline,
    private readonly provisioning: ProvisioningConsumer,
    private readonly recordings: RecordingsService,
    private readonly publisher: TelephonyEventPublisher,
    private readonly originates: OriginateRepository,
    private readonly relay: OutboxRelay,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await ensureStream(this.nc, TELEPHONY_EVENTS_STREAM);
    await this.store.open();
    await this.directory.refresh().catch((err: Error) => this.logger.warn(`user directory not loaded yet: ${err.message}`));
    this.directory.startRefreshing(60_000, (err) => this.logger.warn(`user directory refresh failed: ${err.message}`));
    this.pipeline.start();
    this.recordings.startRetrying();
    await this.provisioning.start();
    this.pruneTimer = setInterval(() => void this.pruneOriginates(), 3_600_000);
    this.pruneTimer.unref();
    void this.pruneOriginates();
  }

  private async pruneOriginates(): Promise<void> {
    try {
      const pruned = await this.originates.prune(new Date(Date.now() - KEEP_ORIGINATES_MS));
      if (pruned) this.logger.log(`deleted ${pruned} originate requests older than 7 days`);
    } catch (err) {
      this.logger.warn(`pruning originate requests failed (next try in an hour): ${(err as Error).message}`);
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.directory.stop();
    clearInterval(this.pruneTimer);
    this.recordings.stopRetrying();
    await this.provisioning.stop();
    await this.pipeline.stop();
    // Events first, within Kubernetes' 30 s grace: no wait for a NATS that is away; what it did not
    // take goes to the outbox (logged there), and so do the events of recordings finishing after.
    this.natsAway = isAway(this.nc) || this.publisher.failing;
    await this.publisher.flush(this.natsAway ? 0 : 5000);
    // The relay stops before the spill: woken by it, it would try to publish with NATS away and the
    // shutdown would wait for that try (5 s); the next process publishes what is spilled.
    await this.relay.stop();
    await this.publisher.stop({ natsAway: this.natsAway });
    // Recordings being stored get a while — none while NATS (their object store) is away; those
    // still running are handed back to the next process.
    await this.recordings.drain(this.natsAway ? 0 : 5000);
    const handedBack = await this.recordings.releaseUnfinished();
    if (handedBack) this.logger.warn(`${handedBack} recordings not stored yet: the next process takes them up`);
  }

  async onApplicationShutdown(): Promise<void> {
    if (!(await drainOrClose(this.nc, this.natsAway ? 0 : 5000))) this.logger.warn('NATS did not drain (the server is away?): connection closed');
    await this.prisma.$disconnect();
  }
}

/** The one place telephony-adapter is wired: configuration in, handlers out. */
@Module({})
export class AppModule {
  static forRoot(config: TelephonyConfig): DynamicModule {
    const context = new ContextTemplate(config.originate.contextTemplate);
    const providers: Provider[] = [
      { provide: TELEPHONY_CONFIG, useValue: config },
      { provide: ContextTemplate, useValue: context },
      { provide: PRISMA, useFactory: () => createPrismaClient(config.databaseUrl) },
      { provide: NATS_CONNECTION, useFactory: () => connectNats(config.natsUrl, 'telephony-adapter') },
      { provide: UserDirectory, useFactory: (prisma: PrismaClient) => new UserDirectory(prisma), inject: [PRISMA] },
      {
        provide: CallNormaliser,
        useFactory: (directory: UserDirectory) =>
          new CallNormaliser({
            node: config.node,
            accountFromContext: (c) => context.parse(c),
            directory: (u) => directory.cached(u),
            isExtension: (account, num) => directory.isExtension(account, num),
          }),
        inject: [UserDirectory],
      },
      { provide: Registrations, useFactory: () => new Registrations() },
      {
        provide: AmiSession,
        useFactory: () => new AmiSession({ node: config.node, ...config.ami, logger: new Logger(`AMI ${config.node}`) }),
      },
      { provide: OutboxStore, useFactory: (prisma: PrismaClient) => new OutboxStore(prisma), inject: [PRISMA] },
      {
        provide: OutboxRelay,
        useFactory: (store: OutboxStore, nc: NatsConnection) =>
          new OutboxRelay({ store, js: jetstream(nc, { timeout: 5000 }), nc, streams: [TELEPHONY_EVENTS_STREAM], sweepMs: OUTBOX_SWEEP_MS }),
        inject: [OutboxStore, NATS_CONNECTION],
      },
      {
        provide: TelephonyEventPublisher,
        useFactory: (nc: NatsConnection, prisma: PrismaClient, store: OutboxStore, relay: OutboxRelay) =>
          new TelephonyEventPublisher(jetstream(nc, { timeout: 5000 }), new Logger('TelephonyEvents'), { spill: new EventOutbox(prisma, store, relay) }),
        inject: [NATS_CONNECTION, PRISMA, OutboxStore, OutboxRelay],
      },
      { provide: RecordingStore, useFactory: (nc: NatsConnection) => new RecordingStore(nc), inject: [NATS_CONNECTION] },
      {
        provide: RecordingsService,
        useFactory: (store: RecordingStore, publisher: TelephonyEventPublisher, normaliser: CallNormaliser, prisma: PrismaClient) =>
          new RecordingsService(store, publisher, {
            dir: config.recordingsDir,
            waitMs: config.recordingWaitMs,
            keepLocal: config.recordingsKeepLocal,
            takeSeq: (key) => normaliser.takeSeq(key),
            jobs: new RecordingJobsRepository(prisma, config.node),
            logger: new Logger('Recordings'),
          }),
        inject: [RecordingStore, TelephonyEventPublisher, CallNormaliser, PRISMA],
      },
      { provide: OriginateRepository, useFactory: (prisma: PrismaClient) => new OriginateRepository(prisma, config.node), inject: [PRISMA] },
      // Requests to other services (calls-service's open calls after a resync); closed at shutdown by Nest.
      { provide: RpcClient, useFactory: () => new RpcClient({ servers: config.natsUrl, requestTimeoutMs: 5000, name: 'telephony-adapter-rpc' }) },
      {
        provide: PbxEventPipeline,
        useFactory: (
          session: AmiSession,
          normaliser: CallNormaliser,
          registrations: Registrations,
          publisher: TelephonyEventPublisher,
          recordings: RecordingsService,
          ledger: OriginateRepository,
          rpc: RpcClient,
        ) =>
          new PbxEventPipeline(
            session,
            normaliser,
            registrations,
            { publish: (e) => publisher.publish(e), recording: (job) => recordings.submit(job) },
            ledger,
            new Logger(`PBX ${config.node}`),
            { openCalls: () => rpc.send(CallsOpenOnNode.contract, { node: config.node }), leftRecording: (linkedid) => recordings.leftBehind(linkedid) },
          ),
        inject: [AmiSession, CallNormaliser, Registrations, TelephonyEventPublisher, RecordingsService, OriginateRepository, RpcClient],
      },
      {
        provide: OriginateService,
        useFactory: (
          session: AmiSession,
          registrations: Registrations,
          normaliser: CallNormaliser,
          requests: OriginateRepository,
          directory: UserDirectory,
        ) =>
          new OriginateService({
            session,
            registrations,
            normaliser,
            requests,
            directory,
            deviceTemplate: config.originate.deviceTemplate,
            context,
            timeoutMs: config.originate.timeoutMs,
            syncWaitMs: config.ami.actionTimeoutMs,
            logger: new Logger('Originate'),
          }),
        inject: [AmiSession, Registrations, CallNormaliser, OriginateRepository, UserDirectory],
      },
      {
        provide: UserRegistrations,
        useFactory: (session: AmiSession, registrations: Registrations, directory: UserDirectory) =>
          new UserRegistrations({ session, registrations, directory, deviceTemplate: config.originate.deviceTemplate, syncWaitMs: config.ami.actionTimeoutMs }),
        inject: [AmiSession, Registrations, UserDirectory],
      },
      {
        provide: ChannelsService,
        useFactory: (session: AmiSession, normaliser: CallNormaliser) => new ChannelsService(session, normaliser),
        inject: [AmiSession, CallNormaliser],
      },
      {
        provide: ProvisioningService,
        useFactory: (prisma: PrismaClient) =>
          new ProvisioningService(prisma, context, { transport: config.pjsipTransport, qualifyFrequency: config.qualifyFrequency, inboundContext: config.inboundContext }),
        inject: [PRISMA],
      },
      {
        provide: DialplanReloader,
        useFactory: (session: AmiSession) => new DialplanReloader(session, new Logger('Provisioning'), config.dialplanReload),
        inject: [AmiSession],
      },
      {
        provide: ProvisioningConsumer,
        useFactory: (nc: NatsConnection, service: ProvisioningService, directory: UserDirectory, reloader: DialplanReloader) =>
          new ProvisioningConsumer(
            nc,
            {
              user: async (event) => {
                const result = await service.apply(event);
                if (result.status === 'applied') directory.remember(event.user, { accountId: event.account_id, num: event.num });
                if (result.newContext) reloader.request();
                return result;
              },
              userDeleted: async (event) => {
                const result = await service.remove(event);
                if (result.status === 'applied') directory.forget(event.user);
                return result;
              },
              number: (event) => service.applyNumber(event),
            },
            new Logger('Provisioning'),
          ),
        inject: [NATS_CONNECTION, ProvisioningService, UserDirectory, DialplanReloader],
      },
      TelephonyLifecycle,
    ];
    return { module: AppModule, controllers: [TelephonyHandler, HealthHandler], providers };
  }
}
