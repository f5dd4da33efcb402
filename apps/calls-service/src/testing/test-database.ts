import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { WORKSPACE_ROOT, withSchema } from '@ringcloud/testing';
import { quoteIdent } from '../infra/database';

/** Tests use their own database (migrateAll creates it when missing), one fresh schema per test file. */
const TEST_DATABASE_URL = process.env.CALLS_TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/ringcloud_test';

export interface TestSchema {
  schema: string;
  databaseUrl: string;
  drop(): Promise<void>;
}

/** A uniquely named schema with the calls-service tables, migrated exactly as in production. */
export async function createTestSchema(): Promise<TestSchema> {
  const schema = `calls_test_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const databaseUrl = withSchema(TEST_DATABASE_URL, schema);
  // The project's migration step (tools/db/migrate.ts) as `npm run db:migrate` runs it: apps may
  // not import tool projects (module boundaries). It creates the database if missing.
  await promisify(execFile)(process.execPath, ['-r', './tools/register.cjs', 'tools/db/migrate.ts', 'calls-service'], {
    cwd: WORKSPACE_ROOT,
    env: { ...process.env, CALLS_DATABASE_URL: databaseUrl },
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
