import { INestMicroservice, LoggerService } from '@nestjs/common';
import { CRM_EVENTS_STREAM } from '@ringcloud/contracts-events';
import { ensureStream } from '@ringcloud/nest-nats';
import { CrmEventPublisher, ServiceTestEnv } from '@ringcloud/testing';
import { AppModule } from '../app.module';
import { WebhooksConfig } from '../config/webhooks-config';
import { CrmEventsConsumer } from '../ingest/crm-events.consumer';
import { PrismaClient, createPrismaClient } from '../infra/database';
import { Sql } from '../infra/sql';

/** Drops what the apps log (tests look at the database and the receiver instead). */
class QuietLogger implements LoggerService {
  log = () => undefined;
  warn = () => undefined;
  error = () => undefined;
}

/**
 * Per test file: a fresh PostgreSQL schema with the service's tables (migrated as in production),
 * a private nats-server with JetStream with CRM_EVENTS on it, and the real service (as many replicas
 * as wanted).
 */
export class TestEnv extends ServiceTestEnv<WebhooksConfig> {
  prisma!: PrismaClient;
  sql!: Sql;
  /** CRM events as the producers publish them. */
  events!: CrmEventPublisher;
  protected readonly logger = new QuietLogger();

  private constructor() {
    super('webhooks-service');
  }

  static async start(): Promise<TestEnv> {
    const env = new TestEnv();
    await env.startInfra({
      app: 'webhooks-service',
      prefix: 'webhooks_test',
      urlVariables: ['WEBHOOKS_DATABASE_URL'],
      databaseUrl: process.env.WEBHOOKS_TEST_DATABASE_URL,
    });
    env.prisma = createPrismaClient(env.schema.databaseUrl, 4);
    env.sql = new Sql(env.schema.databaseUrl, 4);
    await ensureStream(env.nc, CRM_EVENTS_STREAM);
    env.events = new CrmEventPublisher('unit', env.js);
    return env;
  }

  config(overrides: Partial<WebhooksConfig> = {}): WebhooksConfig {
    return {
      ...this.baseConfig(),
      secretKey: Buffer.alloc(32, 9),
      allowLoopbackHttp: true,
      retryScheduleMs: [200, 400],
      timeoutMs: 2000,
      retentionMs: 7 * 86_400_000,
      consumerName: 'webhooks-service',
      ingestAckWaitMs: 2000,
      concurrency: 16,
      pollMs: 50,
      ...overrides,
    };
  }

  protected appModule(config: WebhooksConfig) {
    return AppModule.forRoot(config);
  }

  /** Its durable consumer is pulling. */
  protected whenReady(app: INestMicroservice): Promise<void> {
    return app.get(CrmEventsConsumer).ready;
  }

  protected override async closeOwn(): Promise<void> {
    await this.prisma?.$disconnect();
    await this.sql?.onApplicationShutdown();
  }
}
