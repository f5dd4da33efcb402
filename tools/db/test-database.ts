// Test helpers: a uniquely named scratch database on the real PostgreSQL server, dropped afterwards.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { DEFAULT_DATABASE_URL, pgConnectionString, quoteIdent } from './database-url';
import { prismaPaths, WORKSPACE_ROOT } from './migrations';

export const SERVICE = 'users-service';

export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/** A database name that does not exist yet; `drop()` removes it (and any connection still on it). */
export function scratchDatabase(prefix = 'ringcloud_dbtools') {
  const server = process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
  const database = uniqueName(prefix);
  return {
    database,
    /** Prisma-style URL of `schema` in the scratch database. */
    url(schema: string): string {
      const url = new URL(pgConnectionString(server, database));
      url.searchParams.set('schema', schema);
      return url.toString();
    },
    async query<T extends object = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
      return withClient(pgConnectionString(server, database), async (client) => (await client.query(sql, params)).rows as T[]);
    },
    async drop(): Promise<void> {
      await withClient(pgConnectionString(server, 'postgres'), (client) =>
        client.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)} WITH (FORCE)`),
      );
    },
  };
}

export async function withClient<T>(connectionString: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A throw-away workspace root holding a copy of the service's prisma folder, to edit freely. */
export function copyOfPrismaFolder(): { rootDir: string; migrationsDir: string; schemaPath: string; remove(): void } {
  const rootDir = fs.mkdtempSync(path.join(os.tmpdir(), 'db-tools-'));
  const source = path.dirname(prismaPaths(WORKSPACE_ROOT, SERVICE).schema);
  const target = path.dirname(prismaPaths(rootDir, SERVICE).schema);
  fs.cpSync(source, target, { recursive: true });
  return {
    rootDir,
    ...(({ migrations, schema }) => ({ migrationsDir: migrations, schemaPath: schema }))(prismaPaths(rootDir, SERVICE)),
    remove: () => fs.rmSync(rootDir, { recursive: true, force: true }),
  };
}

/** schema.prisma with one more column on User: what an engineer forgetting a migration leaves behind. */
export function withExtraUserField(schema: string): string {
  const changed = schema.replace(/model User \{\n/, 'model User {\n  nickname String?\n');
  if (changed === schema) throw new Error('schema.prisma has no `model User {` to extend');
  return changed;
}
