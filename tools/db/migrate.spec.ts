import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { pgConnectionString } from './database-url';
import { migrateAll, PRISMA_MIGRATE_LOCK_KEY } from './migrate';
import { listMigrations, prismaChecksum, prismaPaths, WORKSPACE_ROOT } from './migrations';
import { copyOfPrismaFolder, scratchDatabase, SERVICE, uniqueName } from './test-database';

const migrations = listMigrations(prismaPaths(WORKSPACE_ROOT, SERVICE).migrations);
const names = migrations.map((migration) => migration.name);

describe('migrateAll', () => {
  const db = scratchDatabase();
  afterAll(() => db.drop());

  it('the service has migrations to test with', () => {
    expect(names.length).toBeGreaterThan(0);
    expect(fs.readFileSync(path.join(prismaPaths(WORKSPACE_ROOT, SERVICE).migrations, 'migration_lock.toml'), 'utf8')).toMatch(
      /^provider = "postgresql"$/m,
    );
  });

  it('creates the database and schema, applies every migration and records it as Prisma does', async () => {
    const schema = uniqueName('users');
    const logs: string[] = [];

    const results = await migrateAll({ databaseUrl: db.url(schema), services: [SERVICE], log: (m) => logs.push(m) });

    expect(results).toEqual([{ service: SERVICE, database: db.database, schema, applied: names }]);
    expect(logs.join('\n')).toContain(`created database ${db.database}`);
    const tables = await db.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
      [schema],
    );
    expect(tables.map((t) => t.table_name)).toEqual(['_prisma_migrations', 'accounts', 'api_keys', 'deleted_users', 'outbox_events', 'phone_numbers', 'users']);

    const rows = await db.query<Record<string, any>>(
      `SELECT migration_name, checksum, finished_at, started_at, logs, rolled_back_at, applied_steps_count
         FROM "${schema}"._prisma_migrations ORDER BY migration_name`,
    );
    expect(rows.map((r) => r.migration_name)).toEqual(names);
    rows.forEach((row, i) => {
      expect(row.checksum).toBe(prismaChecksum(migrations[i].sql));
      expect(row.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.finished_at.getTime()).toBeGreaterThanOrEqual(row.started_at.getTime());
      expect(row).toMatchObject({ logs: null, rolled_back_at: null, applied_steps_count: 1 });
    });
  });

  it('applies nothing on a second run', async () => {
    const schema = uniqueName('users');
    await migrateAll({ databaseUrl: db.url(schema), services: [SERVICE] });
    const logs: string[] = [];

    const [second] = await migrateAll({ databaseUrl: db.url(schema), services: [SERVICE], log: (m) => logs.push(m) });

    expect(second.applied).toEqual([]);
    expect(logs.join('\n')).toContain('up to date');
    const [{ count }] = await db.query<{ count: number }>(`SELECT count(*)::int AS count FROM "${schema}"._prisma_migrations`);
    expect(count).toBe(names.length);
  });

  it('lets two concurrent runs on a fresh database both succeed, applying each migration once', async () => {
    const fresh = scratchDatabase();
    try {
      const url = fresh.url('users');
      const runs = await Promise.all([migrateAll({ databaseUrl: url, services: [SERVICE] }), migrateAll({ databaseUrl: url, services: [SERVICE] })]);

      const appliedByRuns = runs.flatMap(([result]) => result.applied).sort();
      expect(appliedByRuns).toEqual(names);
      const rows = await fresh.query<{ migration_name: string }>(`SELECT migration_name FROM users._prisma_migrations ORDER BY 1`);
      expect(rows.map((r) => r.migration_name)).toEqual(names);
    } finally {
      await fresh.drop();
    }
  });

  it('refuses to run when an applied migration was edited afterwards', async () => {
    const copy = copyOfPrismaFolder();
    try {
      const schema = uniqueName('users');
      await migrateAll({ databaseUrl: db.url(schema), services: [SERVICE], rootDir: copy.rootDir });
      fs.appendFileSync(path.join(copy.migrationsDir, names[0], 'migration.sql'), '\n-- edited after the fact\n');

      await expect(migrateAll({ databaseUrl: db.url(schema), services: [SERVICE], rootDir: copy.rootDir })).rejects.toThrow(
        `migration ${names[0]} was modified after it was applied`,
      );
    } finally {
      copy.remove();
    }
  });

  it('accepts a checkout that only changed line endings to CRLF, as Prisma does', async () => {
    const copy = copyOfPrismaFolder();
    try {
      const schema = uniqueName('users');
      await migrateAll({ databaseUrl: db.url(schema), services: [SERVICE], rootDir: copy.rootDir });
      const file = path.join(copy.migrationsDir, names[0], 'migration.sql');
      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/\n/g, '\r\n'));

      const [result] = await migrateAll({ databaseUrl: db.url(schema), services: [SERVICE], rootDir: copy.rootDir });
      expect(result.applied).toEqual([]);
    } finally {
      copy.remove();
    }
  });

  it('rolls a failing migration back whole and records nothing for it', async () => {
    const copy = copyOfPrismaFolder();
    try {
      const schema = uniqueName('users');
      const broken = '29990101000000_broken';
      fs.mkdirSync(path.join(copy.migrationsDir, broken));
      fs.writeFileSync(
        path.join(copy.migrationsDir, broken, 'migration.sql'),
        'CREATE TABLE "half_done" ("id" INTEGER);\nALTER TABLE "no_such_table" ADD COLUMN "x" INTEGER;\n',
      );

      await expect(migrateAll({ databaseUrl: db.url(schema), services: [SERVICE], rootDir: copy.rootDir })).rejects.toThrow(
        `migration ${broken} failed and was rolled back`,
      );

      const recorded = await db.query<{ migration_name: string }>(`SELECT migration_name FROM "${schema}"._prisma_migrations ORDER BY 1`);
      expect(recorded.map((r) => r.migration_name)).toEqual(names);
      const halfDone = await db.query(`SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'half_done'`, [schema]);
      expect(halfDone).toEqual([]);
    } finally {
      copy.remove();
    }
  });

  it("waits for Prisma Migrate's advisory lock and gives up after the timeout", async () => {
    const schema = uniqueName('users');
    await migrateAll({ databaseUrl: db.url(schema), services: [SERVICE] }); // database exists from here on
    const holder = new Client({ connectionString: pgConnectionString(db.url(schema)) });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [PRISMA_MIGRATE_LOCK_KEY]);

      await expect(migrateAll({ databaseUrl: db.url(schema), services: [SERVICE], lockTimeoutMs: 300 })).rejects.toThrow(
        'another migration run still holds the migration lock',
      );
    } finally {
      await holder.end();
    }
  });

  it('uses the per-service URL over the base URL, and rejects unknown services', async () => {
    const schema = uniqueName('users');
    const [result] = await migrateAll({
      databaseUrl: 'postgresql://nobody@127.0.0.1:1/unused',
      serviceUrls: { [SERVICE]: db.url(schema) },
      services: [SERVICE],
    });
    expect(result).toMatchObject({ database: db.database, schema, applied: names });

    await expect(migrateAll({ databaseUrl: db.url(schema), services: ['no-such-service'] })).rejects.toThrow(
      'no prisma/migrations folder for: no-such-service',
    );
  });
});
