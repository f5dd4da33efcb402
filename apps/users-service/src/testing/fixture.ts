import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { TestNats, startNatsServer } from '@ringcloud/testing';
import { NumberRouting, USERS_EVENTS_STREAM, UserProvisioning } from '@ringcloud/contracts-users';
import { UsersConfig } from '../config/users-config';
import { PrismaClient, createPrismaClient } from '../infra/database';
import { TestSchema, createTestSchema } from './test-database';

export const TEST_PEPPER = 'test-pepper-0123456789abcdef';
export const TEST_SIP_KEY = Buffer.alloc(32, 7);

/**
 * Per test file: a fresh PostgreSQL schema with the service's tables, and a private nats-server
 * with JetStream (so tests never share subjects or the USERS_EVENTS stream with a running stack).
 */
export class TestEnv {
  schema!: TestSchema;
  nats!: TestNats;
  prisma!: PrismaClient;
  nc!: NatsConnection;

  static async start(options: { nats?: boolean } = {}): Promise<TestEnv> {
    const env = new TestEnv();
    env.schema = await createTestSchema();
    env.prisma = createPrismaClient(env.schema.databaseUrl, 4);
    if (options.nats !== false) {
      env.nats = await startNatsServer();
      env.nc = await connect({ servers: env.nats.url, name: 'users-service-test' });
    }
    return env;
  }

  config(overrides: Partial<UsersConfig> = {}): UsersConfig {
    return {
      nodeEnv: 'test',
      natsUrl: this.nats?.url ?? 'nats://127.0.0.1:1',
      natsRequestTimeoutMs: 3000,
      logLevel: 'error',
      databaseUrl: this.schema.databaseUrl,
      apiKeyPepper: TEST_PEPPER,
      sipSecretKey: TEST_SIP_KEY,
      sipRealm: 'ringcloud',
      outboxSweepMs: 200,
      ...overrides,
    };
  }

  async stop(): Promise<void> {
    await this.nc?.close().catch(() => undefined);
    await this.prisma?.$disconnect();
    await this.nats?.stop();
    await this.schema?.drop();
  }

  streamEvents(): Promise<StreamedEvent[]> {
    return readStreamEvents(this.nc);
  }

  numberEvents(): Promise<StreamedNumberEvent[]> {
    return readNumberEvents(this.nc);
  }
}

export interface StreamedEvent {
  subject: string;
  seq: number;
  msgId?: string;
  event: UserProvisioning;
}

export interface StreamedNumberEvent {
  subject: string;
  seq: number;
  msgId?: string;
  event: NumberRouting;
}

const isNumberSubject = (subject: string) => subject.startsWith('users.number.');
const isProvisioningSubject = (subject: string) => subject === 'users.user.created' || subject === 'users.user.updated';

/** The user provisioning events (users.user.created|updated) in the USERS_EVENTS stream, read back with an ordered JetStream consumer. */
export async function readStreamEvents(nc: NatsConnection): Promise<StreamedEvent[]> {
  return (await readStream(nc)).filter((m) => isProvisioningSubject(m.subject)).map((m) => ({ ...m, event: UserProvisioning.parse(m.event) }));
}

/** The number routing events (users.number.*) in the USERS_EVENTS stream. */
export async function readNumberEvents(nc: NatsConnection): Promise<StreamedNumberEvent[]> {
  return (await readStream(nc)).filter((m) => isNumberSubject(m.subject)).map((m) => ({ ...m, event: NumberRouting.parse(m.event) }));
}

/** Every message in the USERS_EVENTS stream, read back with an ordered JetStream consumer. */
async function readStream(nc: NatsConnection): Promise<Array<{ subject: string; seq: number; msgId?: string; event: unknown }>> {
  const jsm = await jetstreamManager(nc);
  const total = (await jsm.streams.info(USERS_EVENTS_STREAM.name)).state.messages;
  if (!total) return [];
  const consumer = await jetstream(nc).consumers.get(USERS_EVENTS_STREAM.name, { deliver_policy: DeliverPolicy.All });
  const out: Array<{ subject: string; seq: number; msgId?: string; event: unknown }> = [];
  while (out.length < total) {
    const batch = await consumer.fetch({ max_messages: total - out.length, expires: 2000 });
    let got = 0;
    for await (const m of batch) {
      got++;
      out.push({ subject: m.subject, seq: m.seq, msgId: m.headers?.get('Nats-Msg-Id'), event: m.json() });
    }
    if (!got) break;
  }
  return out;
}

export { eventually } from '@ringcloud/testing';
