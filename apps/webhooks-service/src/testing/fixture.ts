import { INestMicroservice, LoggerService } from '@nestjs/common';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { JetStreamClient, jetstream } from '@nats-io/jetstream';
import { CRM_EVENTS_STREAM, CrmEvent, crmEventId, crmEventSubject } from '@ringcloud/contracts-events';
import { RpcClient, createNatsMicroservice, ensureStream } from '@ringcloud/nest-nats';
import { TestNats, TestSchema, createMigratedTestSchema, startNatsServer } from '@ringcloud/testing';
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
 * a private nats-server with JetStream, and the real service (as many replicas as wanted).
 */
export class TestEnv {
  schema!: TestSchema;
  nats!: TestNats;
  prisma!: PrismaClient;
  sql!: Sql;
  nc!: NatsConnection;
  js!: JetStreamClient;
  rpc!: RpcClient;
  private readonly apps = new Set<INestMicroservice>();
  private seq = 0;

  static async start(): Promise<TestEnv> {
    const env = new TestEnv();
    env.schema = await createMigratedTestSchema({
      app: 'webhooks-service',
      prefix: 'webhooks_test',
      urlVariables: ['WEBHOOKS_DATABASE_URL'],
      databaseUrl: process.env.WEBHOOKS_TEST_DATABASE_URL,
    });
    env.prisma = createPrismaClient(env.schema.databaseUrl, 4);
    env.sql = new Sql(env.schema.databaseUrl, 4);
    env.nats = await startNatsServer();
    env.nc = await connect({ servers: env.nats.url, name: 'webhooks-service-test' });
    env.js = jetstream(env.nc);
    await ensureStream(env.nc, CRM_EVENTS_STREAM);
    env.rpc = new RpcClient({ servers: env.nats.url, requestTimeoutMs: 5000, name: 'test-gateway' });
    await env.rpc.connect();
    return env;
  }

  config(overrides: Partial<WebhooksConfig> = {}): WebhooksConfig {
    return {
      nodeEnv: 'test',
      natsUrl: this.nats.url,
      natsRequestTimeoutMs: 2000,
      logLevel: 'error',
      databaseUrl: this.schema.databaseUrl,
      secretKey: Buffer.alloc(32, 9),
      allowLoopbackHttp: true,
      retryScheduleMs: [200, 400],
      timeoutMs: 2000,
      retentionMs: 7 * 86_400_000,
      consumerName: 'webhooks-service',
      concurrency: 16,
      pollMs: 50,
      ...overrides,
    };
  }

  /** Starts one replica and waits until its durable consumer is pulling. */
  async startApp(overrides: Partial<WebhooksConfig> = {}): Promise<INestMicroservice> {
    const app = await createNatsMicroservice(AppModule.forRoot(this.config(overrides)), {
      servers: this.nats.url,
      queue: 'webhooks-service',
      logger: new QuietLogger(),
    });
    this.apps.add(app);
    await app.listen();
    await app.get(CrmEventsConsumer).ready;
    return app;
  }

  async stopApp(app: INestMicroservice): Promise<void> {
    this.apps.delete(app);
    await app.close();
  }

  event(account: number, type: CrmEvent['type'] = 'call.ringing', data: Record<string, unknown> = {}): CrmEvent {
    return { id: crmEventId(`unit:${process.pid}:${Date.now()}:${++this.seq}`), type, timestamp: new Date().toISOString(), account_id: account, data };
  }

  async publish(...events: CrmEvent[]): Promise<CrmEvent[]> {
    for (const event of events) await this.js.publish(crmEventSubject(event.account_id), JSON.stringify(event), { msgID: event.id });
    return events;
  }

  async stop(): Promise<void> {
    for (const app of this.apps) await app.close().catch(() => undefined);
    await this.rpc?.onApplicationShutdown().catch(() => undefined);
    await this.nc?.close().catch(() => undefined);
    await this.prisma?.$disconnect();
    await this.sql?.onApplicationShutdown();
    await this.nats?.stop();
    await this.schema?.drop();
  }
}
