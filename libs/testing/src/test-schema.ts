import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { WORKSPACE_ROOT } from './processes';
import { withSchema } from './infra';

/** Tests use their own database (the migration step creates it when missing). */
export const DEFAULT_TEST_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/ringcloud_test';

export interface TestSchema {
  schema: string;
  databaseUrl: string;
  drop(): Promise<void>;
}

export interface TestSchemaOptions {
  /** The app folder tools/db/migrate.ts migrates, e.g. `users-service`. */
  app: string;
  /** Schema name prefix, e.g. `users_test`. */
  prefix: string;
  /** The environment variables the migration reads the schema URL from (all get it). */
  urlVariables: string[];
  /** Database of the test schemas; DEFAULT_TEST_DATABASE_URL when unset. */
  databaseUrl?: string;
}

/**
 * A uniquely named schema (one per test file) migrated exactly as in production: the project's
 * migration step (tools/db/migrate.ts, `npm run db:migrate`) runs as a child process, since apps
 * and libs may not import tool projects (module boundaries). `drop()` removes the schema.
 */
export async function createMigratedTestSchema(options: TestSchemaOptions): Promise<TestSchema> {
  const testDatabaseUrl = options.databaseUrl ?? DEFAULT_TEST_DATABASE_URL;
  const schema = `${options.prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const databaseUrl = withSchema(testDatabaseUrl, schema);
  await promisify(execFile)(process.execPath, ['-r', './tools/register.cjs', 'tools/db/migrate.ts', options.app], {
    cwd: WORKSPACE_ROOT,
    env: { ...process.env, ...Object.fromEntries(options.urlVariables.map((name) => [name, databaseUrl])) },
  });
  return {
    schema,
    databaseUrl,
    async drop() {
      const url = new URL(testDatabaseUrl);
      url.searchParams.delete('schema');
      const client = new Client({ connectionString: url.toString() });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS "${schema.replace(/"/g, '""')}" CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}
