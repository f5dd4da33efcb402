import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { TestNats, TestSchema, createMigratedTestSchema, startNatsServer } from '@ringcloud/testing';
import { PrismaClient, createPrismaClient } from '../infra/database';
import { TelephonyConfig } from '../config/telephony-config';

/** The adapter's configuration for a test: a fake PBX on `amiPort`, node pbx1, fast AMI timeouts. */
export function testConfig(place: { natsUrl: string; databaseUrl: string; amiPort: number; recordingsDir: string }): TelephonyConfig {
  return {
    nodeEnv: 'test',
    natsUrl: place.natsUrl,
    logLevel: 'error',
    databaseUrl: place.databaseUrl,
    node: 'pbx1',
    ami: { host: '127.0.0.1', port: place.amiPort, username: 'crm', secret: 'crmsecret', actionTimeoutMs: 1000, reconnectMinMs: 50, reconnectMaxMs: 200, keepaliveMs: 0 }, // keepalive: ami-session.spec
    originate: { deviceTemplate: 'PJSIP/{user}', contextTemplate: 'acct-{account}', timeoutMs: 30_000 },
    recordingsDir: place.recordingsDir,
    qualifyFrequency: 60,
    inboundContext: 'from-pstn',
    recordingWaitMs: 3000,
    recordingsKeepLocal: false,
    pjsipTransport: 'transport-udp',
    dialplanReload: true,
  };
}

/** A uniquely named schema with the adapter's tables (one per test file), migrated as in production. */
export function createTestSchema(): Promise<TestSchema> {
  return createMigratedTestSchema({
    app: 'telephony-adapter',
    prefix: 'telephony_test',
    // tools/db names the per-service variable after the app folder (TELEPHONY_ADAPTER_…); the
    // adapter itself reads TELEPHONY_DATABASE_URL. Both point at the test schema.
    urlVariables: ['TELEPHONY_DATABASE_URL', 'TELEPHONY_ADAPTER_DATABASE_URL'],
    databaseUrl: process.env.TELEPHONY_TEST_DATABASE_URL,
  });
}

/** Per test file: a fresh schema, a private nats-server with JetStream, a scratch recordings folder. */
export class TestEnv {
  schema?: TestSchema;
  prisma?: PrismaClient;
  nats!: TestNats;
  nc!: NatsConnection;
  recordingsDir!: string;

  static async start(options: { database?: boolean } = {}): Promise<TestEnv> {
    const env = new TestEnv();
    if (options.database !== false) {
      env.schema = await createTestSchema();
      env.prisma = createPrismaClient(env.schema.databaseUrl, 3);
    }
    env.nats = await startNatsServer();
    env.nc = await connect({ servers: env.nats.url, name: 'telephony-adapter-test' });
    env.recordingsDir = mkdtempSync(path.join(os.tmpdir(), 'rc-recordings-'));
    return env;
  }

  async stop(): Promise<void> {
    await this.nc?.close().catch(() => undefined);
    await this.prisma?.$disconnect();
    await this.nats?.stop();
    await this.schema?.drop();
    if (this.recordingsDir) rmSync(this.recordingsDir, { recursive: true, force: true });
  }

  /** Every message of a stream, read back with an ordered consumer. */
  async streamMessages(stream: string): Promise<Array<{ subject: string; msgId?: string; data: any }>> {
    const jsm = await jetstreamManager(this.nc);
    let total: number;
    try {
      total = (await jsm.streams.info(stream)).state.messages;
    } catch {
      return [];
    }
    if (!total) return [];
    const consumer = await jetstream(this.nc).consumers.get(stream, { deliver_policy: DeliverPolicy.All });
    const out: Array<{ subject: string; msgId?: string; data: any }> = [];
    while (out.length < total) {
      const batch = await consumer.fetch({ max_messages: total - out.length, expires: 2000 });
      let got = 0;
      for await (const m of batch) {
        got++;
        out.push({ subject: m.subject, msgId: m.headers?.get('Nats-Msg-Id'), data: m.json() });
      }
      if (!got) break;
    }
    return out;
  }
}

import { eventually as poll } from '@ringcloud/testing';

/** The shared poller, checking more often: AMI round trips here take a millisecond. */
export const eventually = <T>(check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 5000) =>
  poll(check, timeoutMs, 'condition', 25);
