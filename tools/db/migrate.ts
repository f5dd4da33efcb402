// Applies every service's Prisma migrations with plain `pg`, the way `prisma migrate deploy` does,
// because Prisma 7's native migration engine cannot be downloaded on every machine we run on.
// The bookkeeping is Prisma's own (`_prisma_migrations`, sha256 checksums, advisory lock 72707369), so a
// database migrated here is "up to date" for `prisma migrate deploy`, and the other way round.
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import {
  DEFAULT_DATABASE_URL,
  describeTarget,
  pgConnectionString,
  quoteIdent,
  resolveServiceDatabase,
  serviceUrlEnvName,
  type ServiceDatabase,
} from './database-url';
import { checksumMatches, findServices, listMigrations, prismaPaths, WORKSPACE_ROOT, type Migration } from './migrations';

/** Prisma Migrate's advisory lock key: our runs and `prisma migrate deploy` never overlap on one database. */
export const PRISMA_MIGRATE_LOCK_KEY = 72707369;

export interface MigrateOptions {
  /** Base URL for every service (DATABASE_URL); its `schema` parameter, if any, applies to all of them. */
  databaseUrl: string;
  /** App folder names (e.g. users-service); default: every app with prisma/migrations. */
  services?: string[];
  /** Per-service URLs that win over `databaseUrl` (the CLI fills them from USERS_DATABASE_URL etc.). */
  serviceUrls?: Record<string, string | undefined>;
  log?: (message: string) => void;
  /** Workspace root holding apps/<service>/prisma/migrations (tests point it at a copy). */
  rootDir?: string;
  /** How long to wait for a concurrent migration run to finish. */
  lockTimeoutMs?: number;
}

export interface ServiceMigrationResult {
  service: string;
  database: string;
  schema: string;
  /** Migration names applied by this run, in order; empty when the schema was already up to date. */
  applied: string[];
}

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

export async function migrateAll(opts: MigrateOptions): Promise<ServiceMigrationResult[]> {
  const rootDir = opts.rootDir ?? WORKSPACE_ROOT;
  const log = opts.log ?? (() => undefined);
  const available = findServices(rootDir, 'migrations');
  const services = opts.services ?? available;
  const unknown = services.filter((service) => !available.includes(service));
  if (unknown.length > 0) {
    throw new Error(`no prisma/migrations folder for: ${unknown.join(', ')} (known: ${available.join(', ') || 'none'})`);
  }

  const targets = services.map((service) => resolveServiceDatabase(service, opts.databaseUrl, opts.serviceUrls?.[service]));
  assertDistinctTargets(targets);

  const results: ServiceMigrationResult[] = [];
  for (const target of targets) {
    const migrations = listMigrations(prismaPaths(rootDir, target.service).migrations);
    results.push(await migrateService(target, migrations, log, opts.lockTimeoutMs ?? 60_000));
  }
  return results;
}

async function migrateService(
  target: ServiceDatabase,
  migrations: Migration[],
  log: (message: string) => void,
  lockTimeoutMs: number,
): Promise<ServiceMigrationResult> {
  const client = await connectCreatingDatabase(target, log);
  const schema = quoteIdent(target.schema);
  try {
    await acquireMigrateLock(client, target, lockTimeoutMs);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(migrationsTableDdl(target.schema));

    const appliedRows = (
      await client.query<AppliedRow>(
        `SELECT migration_name, checksum, finished_at, rolled_back_at FROM ${schema}."_prisma_migrations" ORDER BY started_at`,
      )
    ).rows;
    const appliedNames = checkHistory(target, migrations, appliedRows, log);

    const applied: string[] = [];
    for (const migration of migrations) {
      if (appliedNames.has(migration.name)) continue;
      await applyMigration(client, target, migration);
      applied.push(migration.name);
      log(`${target.service}: applied ${migration.name} (${describeTarget(target)})`);
    }
    if (applied.length === 0) log(`${target.service}: up to date (${describeTarget(target)})`);
    return { service: target.service, database: target.database, schema: target.schema, applied };
  } finally {
    // Ending the session releases the advisory lock too.
    await client.end().catch(() => undefined);
  }
}

/**
 * Refuses a history that `prisma migrate deploy` would refuse too: a failed migration, or an applied
 * migration whose file changed since. Returns the names that count as applied.
 */
function checkHistory(
  target: ServiceDatabase,
  migrations: Migration[],
  rows: AppliedRow[],
  log: (message: string) => void,
): Set<string> {
  const local = new Map(migrations.map((migration) => [migration.name, migration]));
  const applied = new Set<string>();
  for (const row of rows) {
    if (row.rolled_back_at) continue; // marked rolled back with `prisma migrate resolve`: to be applied again
    if (!row.finished_at) {
      throw new Error(
        `${target.service}: migration ${row.migration_name} is recorded as failed in ${describeTarget(target)}; ` +
          'fix the database, then mark it with `prisma migrate resolve --rolled-back|--applied` before migrating again',
      );
    }
    const migration = local.get(row.migration_name);
    if (!migration) {
      log(`${target.service}: warning: applied migration ${row.migration_name} is not in prisma/migrations`);
    } else if (!checksumMatches(migration.sql, row.checksum)) {
      throw new Error(
        `${target.service}: migration ${row.migration_name} was modified after it was applied ` +
          `(checksum differs from ${describeTarget(target)}); restore the file and put the change in a new migration`,
      );
    }
    applied.add(row.migration_name);
  }
  return applied;
}

/** One migration, one transaction: the script and its record commit together or not at all. */
async function applyMigration(client: Client, target: ServiceDatabase, migration: Migration): Promise<void> {
  const schema = quoteIdent(target.schema);
  await client.query('BEGIN');
  try {
    // Prisma renders unqualified names and runs them with the URL's schema as search_path.
    await client.query(`SET LOCAL search_path TO ${schema}`);
    await client.query(migration.sql);
    await client.query(
      `INSERT INTO ${schema}."_prisma_migrations"
         (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count)
       VALUES ($1, $2, clock_timestamp(), $3, NULL, NULL, now(), 1)`,
      [randomUUID(), migration.checksum, migration.name],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw new Error(`${target.service}: migration ${migration.name} failed and was rolled back: ${errorMessage(error)}`);
  }
}

async function connectCreatingDatabase(target: ServiceDatabase, log: (message: string) => void): Promise<Client> {
  try {
    return await connect(pgConnectionString(target.url));
  } catch (error) {
    if ((error as { code?: string }).code !== '3D000') throw error; // 3D000: database does not exist
  }
  // Only now touch the maintenance database: an existing database needs no rights on it.
  const admin = await connect(pgConnectionString(target.url, 'postgres'));
  try {
    await admin.query(`CREATE DATABASE ${quoteIdent(target.database)}`);
    log(`${target.service}: created database ${target.database}`);
  } catch (error) {
    // A concurrent run created it first: 42P04 duplicate_database, or 23505 from the catalog's unique index.
    const code = (error as { code?: string }).code;
    if (code !== '42P04' && code !== '23505') throw error;
  } finally {
    await admin.end().catch(() => undefined);
  }
  return connect(pgConnectionString(target.url));
}

async function connect(connectionString: string): Promise<Client> {
  const client = new Client({ connectionString });
  // A dropped connection also fails the pending query; without a listener it would crash the process.
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

async function acquireMigrateLock(client: Client, target: ServiceDatabase, timeoutMs: number): Promise<void> {
  await client.query(`SET lock_timeout = ${Math.max(1, Math.floor(timeoutMs))}`);
  try {
    await client.query('SELECT pg_advisory_lock($1)', [PRISMA_MIGRATE_LOCK_KEY]);
  } catch (error) {
    if ((error as { code?: string }).code === '55P03') {
      throw new Error(
        `${target.service}: another migration run still holds the migration lock on ${describeTarget(target)} after ${timeoutMs} ms`,
      );
    }
    throw error;
  }
  // The timeout is for waiting on other runs, not for the migrations' own DDL.
  await client.query('RESET lock_timeout');
}

/** Prisma Migrate's own table definition (schema-engine, PostgreSQL flavour). */
export function migrationsTableDdl(schema: string): string {
  return `CREATE TABLE IF NOT EXISTS ${quoteIdent(schema)}."_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
  )`;
}

function assertDistinctTargets(targets: ServiceDatabase[]): void {
  const seen = new Map<string, string>();
  for (const target of targets) {
    const url = new URL(target.url);
    const key = `${url.host}/${target.database}/${target.schema}`;
    const other = seen.get(key);
    if (other) {
      throw new Error(
        `${other} and ${target.service} would share ${describeTarget(target)} (and its _prisma_migrations); ` +
          `give each service its own schema, e.g. ${serviceUrlEnvName(target.service)}=…?schema=<name>`,
      );
    }
    seen.set(key, target.service);
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** `npm run db:migrate [-- <service>…]`: DATABASE_URL for all, <SERVICE>_DATABASE_URL per service. */
async function main(): Promise<void> {
  const requested = process.argv.slice(2);
  const serviceUrls = Object.fromEntries(
    findServices(WORKSPACE_ROOT, 'migrations').map((service) => [service, process.env[serviceUrlEnvName(service)]]),
  );
  await migrateAll({
    databaseUrl: process.env.DATABASE_URL || DEFAULT_DATABASE_URL,
    services: requested.length > 0 ? requested : undefined,
    serviceUrls,
    log: (message) => console.log(message),
  });
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(`db:migrate failed: ${errorMessage(error)}`);
    process.exit(1);
  });
}
