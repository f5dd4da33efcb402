import type { INestMicroservice, LoggerService } from '@nestjs/common';
import { connect } from '@nats-io/transport-node';
import { JetStreamClient, NatsConnection, RpcClient, createNatsMicroservice, jetstream } from '@ringcloud/nest-nats';
import { TestNats, startNatsServer } from './infra';
import { TestSchema, TestSchemaOptions, createMigratedTestSchema } from './test-schema';

/**
 * The start-up the tests of a NATS microservice with a database share (calls-service,
 * webhooks-service): per test file a schema migrated as in production, a private nats-server with
 * JetStream, a plain connection to it and a gateway-like RPC client, and replicas of the real app
 * started against them. An app's TestEnv extends it with its configuration, module, readiness and
 * own clients.
 */
export abstract class ServiceTestEnv<Config> {
  schema!: TestSchema;
  nats!: TestNats;
  nc!: NatsConnection;
  js!: JetStreamClient;
  rpc!: RpcClient;
  private readonly apps = new Set<INestMicroservice>();

  /** `service`: the app's name, its queue group (replicas share it, as in production). */
  protected constructor(private readonly service: string) {}

  /** What the apps log to. */
  protected abstract readonly logger: LoggerService;
  /** The app's configuration for a test, defaults overridden by `overrides`. */
  abstract config(overrides?: Partial<Config>): Config;
  /** The root module of one replica. */
  protected abstract appModule(config: Config): unknown;
  /** Resolves once a started replica does its work (e.g. its durable consumer is pulling). */
  protected abstract whenReady(app: INestMicroservice): Promise<unknown>;
  /** Closes what the app's TestEnv opened itself (database clients), before NATS and the schema go. */
  protected async closeOwn(): Promise<void> {}

  /** The schema first (the slow part, a child process), then NATS and the test's connections. */
  protected async startInfra(schema: TestSchemaOptions): Promise<void> {
    this.schema = await createMigratedTestSchema(schema);
    this.nats = await startNatsServer();
    this.nc = await connect({ servers: this.nats.url, name: `${this.service}-test` });
    this.js = jetstream(this.nc);
    this.rpc = new RpcClient({ servers: this.nats.url, requestTimeoutMs: 5000, name: 'test-gateway' });
    await this.rpc.connect();
  }

  /** What every service's configuration has, set for a test against this env. */
  protected baseConfig() {
    return {
      nodeEnv: 'test',
      natsUrl: this.nats.url,
      natsRequestTimeoutMs: 2000,
      logLevel: 'error' as const,
      databaseUrl: this.schema.databaseUrl,
    };
  }

  /** Starts one replica and waits until it is ready. */
  async startApp(overrides: Partial<Config> = {}): Promise<INestMicroservice> {
    const app = await createNatsMicroservice(this.appModule(this.config(overrides)), { servers: this.nats.url, queue: this.service, logger: this.logger });
    this.apps.add(app);
    await app.listen();
    await this.whenReady(app);
    return app;
  }

  /** The replicas running now. */
  get replicas(): INestMicroservice[] {
    return [...this.apps];
  }

  async stopApp(app: INestMicroservice): Promise<void> {
    this.apps.delete(app);
    await app.close();
  }

  async stop(): Promise<void> {
    for (const app of this.apps) await app.close().catch(() => undefined);
    await this.rpc?.onApplicationShutdown().catch(() => undefined);
    await this.nc?.close().catch(() => undefined);
    await this.closeOwn();
    await this.nats?.stop();
    await this.schema?.drop();
  }
}
