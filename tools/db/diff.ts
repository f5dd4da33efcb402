// `npm run db:diff -- <service> <name>`: renders the next migration with Prisma's differ (what
// `prisma migrate dev --create-only` would write) into apps/<service>/prisma/migrations/<ts>_<name>/.
// `npm run db:diff -- <service> --check` only reports, and fails when schema.prisma needs a migration.
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_DATABASE_URL, serviceUrlEnvName } from './database-url';
import { findServices, MIGRATION_LOCK_CONTENT, MIGRATION_LOCK_FILE, migrationDirName, prismaPaths, WORKSPACE_ROOT } from './migrations';
import { diffMigrationsToSchema } from './schema-engine';

const USAGE = 'usage: npm run db:diff -- <service> <migration-name> | <service> --check';

async function main(): Promise<number> {
  const [service, name] = process.argv.slice(2);
  if (!service || !name) {
    console.error(USAGE);
    return 64;
  }
  const known = findServices(WORKSPACE_ROOT, 'schema');
  if (!known.includes(service)) {
    console.error(`no apps/${service}/prisma/schema.prisma (services with a schema: ${known.join(', ') || 'none'})`);
    return 64;
  }

  const paths = prismaPaths(WORKSPACE_ROOT, service);
  const sql = await diffMigrationsToSchema({
    // Only used to reach a PostgreSQL server for the shadow database.
    serverUrl: process.env[serviceUrlEnvName(service)] || process.env.DATABASE_URL || DEFAULT_DATABASE_URL,
    migrationsDir: paths.migrations,
    schemaPath: paths.schema,
  });

  if (name === '--check') {
    if (sql === null) return 0;
    console.error(`${service}: schema.prisma has changes that no migration contains:\n${sql}`);
    return 1;
  }
  if (sql === null) {
    console.log(`${service}: the migrations already produce schema.prisma; no migration written`);
    return 0;
  }

  const dir = path.join(paths.migrations, migrationDirName(name));
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'migration.sql'), sql);
  const lockPath = path.join(paths.migrations, MIGRATION_LOCK_FILE);
  if (!fs.existsSync(lockPath)) fs.writeFileSync(lockPath, MIGRATION_LOCK_CONTENT);
  console.log(`${service}: wrote ${path.relative(WORKSPACE_ROOT, path.join(dir, 'migration.sql'))} — review it, then run npm run db:migrate`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`db:diff failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
