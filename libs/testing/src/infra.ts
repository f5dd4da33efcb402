import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { RunningProcess, freePort, spawnProcess, waitFor } from './processes';

export const PG_ADMIN_URL = process.env.PG_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

/** A fresh, uniquely named PostgreSQL database; `drop()` removes it. */
export async function createTestDatabase(prefix = 'ringcloud_test'): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      const c = new Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
    },
  };
}

/**
 * Creates the database of `databaseUrl` when it does not exist yet (a fresh machine has only
 * `postgres`); tests that keep their schemas in a shared test database call it first.
 */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  url.searchParams.delete('schema');
  const probe = new Client({ connectionString: url.toString() });
  try {
    await probe.connect();
    return;
  } catch (error) {
    if ((error as { code?: string }).code !== '3D000') throw error; // 3D000: database does not exist
  } finally {
    await probe.end().catch(() => undefined);
  }
  const name = decodeURIComponent(url.pathname.slice(1));
  const adminUrl = new URL(url.toString());
  adminUrl.pathname = '/postgres';
  const admin = new Client({ connectionString: adminUrl.toString() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
  } catch (error) {
    if ((error as { code?: string }).code !== '42P04') throw error; // 42P04: created meanwhile by a parallel test
  } finally {
    await admin.end();
  }
}

/** `postgresql://…/db` + `?schema=x` */
export function withSchema(databaseUrl: string, schema: string): string {
  const url = new URL(databaseUrl);
  url.searchParams.set('schema', schema);
  return url.toString();
}

export interface TestNats {
  url: string;
  process?: RunningProcess;
  /** Its JetStream store: a server started again on it (same port) has the streams and consumers back. */
  storeDir?: string;
  stop(): Promise<void>;
}

/**
 * A private nats-server with JetStream on a free port, so a test can stop and restart NATS
 * without touching anybody else's. Falls back to the machine's shared server when the binary
 * is not installed (then stop() does nothing).
 */
export async function startNatsServer(port?: number, storeDir?: string): Promise<TestNats> {
  if (process.env.NATS_TEST_URL && port === undefined) return { url: process.env.NATS_TEST_URL, stop: async () => undefined };
  const bin = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find((p) => {
    try {
      require('node:fs').accessSync(p);
      return true;
    } catch {
      return false;
    }
  });
  if (!bin) return { url: process.env.NATS_URL ?? 'nats://127.0.0.1:4222', stop: async () => undefined };
  const p = port ?? (await freePort());
  const dir = storeDir ?? mkdtempSync(path.join(os.tmpdir(), 'rc-nats-'));
  const proc = spawnProcess('nats-server', bin, ['-a', '127.0.0.1', '-p', String(p), '-js', '-sd', dir]);
  await waitFor(`nats-server on ${p}`, () => canConnect(p), 10_000);
  return {
    url: `nats://127.0.0.1:${p}`,
    process: proc,
    storeDir: dir,
    async stop() {
      await proc.stop('SIGTERM', 5000);
      if (!storeDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = require('node:net').connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
