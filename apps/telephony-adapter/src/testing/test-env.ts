import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { TestNats, WORKSPACE_ROOT, startNatsServer, withSchema } from '@ringcloud/testing';
import { PrismaClient, createPrismaClient, quoteIdent } from '../infra/database';

/** Tests use their own database (created by the migration step when missing), one fresh schema per test file. */
const TEST_DATABASE_URL = process.env.TELEPHONY_TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/ringcloud_test';

export interface TestSchema {
  schema: string;
  databaseUrl: string;
  drop(): Promise<void>;
}

/** A uniquely named schema with the adapter's tables, migrated by the project's own migration step. */
export async function createTestSchema(): Promise<TestSchema> {
  const schema = `telephony_test_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const databaseUrl = withSchema(TEST_DATABASE_URL, schema);
  // tools/db names the per-service variable after the app folder (TELEPHONY_ADAPTER_…); the
  // adapter itself reads TELEPHONY_DATABASE_URL. Both point at the test schema.
  await promisify(execFile)(process.execPath, ['-r', './tools/register.cjs', 'tools/db/migrate.ts', 'telephony-adapter'], {
    cwd: WORKSPACE_ROOT,
    env: { ...process.env, TELEPHONY_DATABASE_URL: databaseUrl, TELEPHONY_ADAPTER_DATABASE_URL: databaseUrl },
  });
  return {
    schema,
    databaseUrl,
    async drop() {
      const url = new URL(TEST_DATABASE_URL);
      url.searchParams.delete('schema');
      const client = new Client({ connectionString: url.toString() });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
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

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function eventually<T>(check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`condition not met in time${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
