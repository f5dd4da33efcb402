import { INestMicroservice, LoggerService } from '@nestjs/common';
import { jetstreamManager } from '@nats-io/jetstream';
import { TELEPHONY_EVENTS_STREAM } from '@ringcloud/contracts-telephony';
import { ensureStream } from '@ringcloud/nest-nats';
import { ServiceTestEnv } from '@ringcloud/testing';
import { AppModule } from '../app.module';
import { CallsConfig } from '../config/calls-config';
import { TelephonyEventsConsumer } from '../events/telephony-events.consumer';
import { PrismaClient, createPrismaClient } from '../infra/database';
import { PbxClock } from '../time/pbx-clock';
import { CALLS_TEST_SCHEMA } from './test-database';

export const TEST_TIME_ZONE = 'Europe/Moscow';

/** Keeps what the apps log, so tests can assert that something was (or was not) logged. */
export class CapturingLogger implements LoggerService {
  readonly lines: Array<{ level: string; message: string }> = [];
  log = (message: unknown) => this.add('log', message);
  warn = (message: unknown) => this.add('warn', message);
  error = (message: unknown) => this.add('error', message);
  debug = () => undefined;
  verbose = () => undefined;
  matching(level: string, pattern: RegExp): string[] {
    return this.lines.filter((l) => l.level === level && pattern.test(l.message)).map((l) => l.message);
  }
  private add(level: string, message: unknown) {
    this.lines.push({ level, message: String(message) });
  }
}

/**
 * Per test file: a fresh PostgreSQL schema with the service's tables, a private nats-server with
 * JetStream, and helpers to start the real service (as many replicas as wanted) against them.
 */
export class TestEnv extends ServiceTestEnv<CallsConfig> {
  prisma!: PrismaClient;
  readonly clock = new PbxClock(TEST_TIME_ZONE);
  readonly logger = new CapturingLogger();

  private constructor() {
    super('calls-service');
  }

  static async start(): Promise<TestEnv> {
    const env = new TestEnv();
    await env.startInfra(CALLS_TEST_SCHEMA);
    env.prisma = createPrismaClient(env.schema.databaseUrl, 4);
    return env;
  }

  config(overrides: Partial<CallsConfig> = {}): CallsConfig {
    return {
      ...this.baseConfig(),
      pbxTimeZone: TEST_TIME_ZONE,
      // The tests seed calls without CDRs on purpose: list them at once unless a test says otherwise.
      cdrGraceMs: 0,
      outboxSweepMs: 200,
      ...overrides,
      consumer: { durableName: 'calls-service', batch: 500, txSize: 100, maxAckPending: 10_000, ackWaitMs: 30_000, maxAttempts: 3, ...overrides.consumer },
    };
  }

  protected appModule(config: CallsConfig) {
    return AppModule.forRoot(config);
  }

  /** Its durable consumer is pulling. */
  protected whenReady(app: INestMicroservice): Promise<void> {
    return app.get(TelephonyEventsConsumer).ready;
  }

  /** The stream as the adapter creates it (for events published while no calls-service runs yet). */
  ensureStream(): Promise<void> {
    return ensureStream(this.nc, TELEPHONY_EVENTS_STREAM);
  }

  async consumerInfo(durable = 'calls-service') {
    return (await jetstreamManager(this.nc)).consumers.info(TELEPHONY_EVENTS_STREAM.name, durable);
  }

  /** True once the durable has nothing left to deliver and nothing unacknowledged. */
  async consumerSettled(durable = 'calls-service'): Promise<boolean> {
    const info = await this.consumerInfo(durable);
    return info.num_pending === 0 && info.num_ack_pending === 0;
  }

  protected override async closeOwn(): Promise<void> {
    await this.prisma?.$disconnect();
  }
}

import { eventually as poll } from '@ringcloud/testing';

/** The shared poller with this suite's longer default (the consumer applies events in batches). */
export const eventually = <T>(check: () => Promise<T | undefined | false>, timeoutMs = 10_000, what = 'condition') => poll(check, timeoutMs, what);

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
