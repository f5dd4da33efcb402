import fs from 'node:fs';
import { migrateAll } from './migrate';
import { listMigrations, prismaPaths, WORKSPACE_ROOT } from './migrations';
import { diffDatabaseToSchema, diffMigrationsToSchema, migrationList, withSchemaEngine } from './schema-engine';
import { copyOfPrismaFolder, scratchDatabase, SERVICE, uniqueName, withExtraUserField } from './test-database';

const paths = prismaPaths(WORKSPACE_ROOT, SERVICE);
const names = listMigrations(paths.migrations).map((migration) => migration.name);
const NO_FILTER = { externalTables: [], externalEnums: [] };

describe("Prisma's schema engine against our migrations", () => {
  const db = scratchDatabase();
  const copy = copyOfPrismaFolder();
  let migratedUrl: string;

  beforeAll(async () => {
    migratedUrl = db.url(uniqueName('users'));
    await migrateAll({ databaseUrl: migratedUrl, services: [SERVICE] });
    fs.writeFileSync(copy.schemaPath, withExtraUserField(fs.readFileSync(paths.schema, 'utf8')));
  });
  afterAll(async () => {
    copy.remove();
    await db.drop();
  });

  describe('no drift: the migrations build exactly what schema.prisma describes', () => {
    it('a schema migrated by db:migrate matches schema.prisma', async () => {
      await expect(diffDatabaseToSchema({ databaseUrl: migratedUrl, schemaPath: paths.schema })).resolves.toBeNull();
    });

    it('and would not match a schema.prisma edited without a migration', async () => {
      const sql = await diffDatabaseToSchema({ databaseUrl: migratedUrl, schemaPath: copy.schemaPath });
      expect(sql).toMatch(/ALTER TABLE "users" ADD COLUMN\s+"nickname" TEXT/);
    });

    it('replaying the migrations in a shadow database (db:diff) finds nothing to add', async () => {
      await expect(
        diffMigrationsToSchema({ serverUrl: migratedUrl, migrationsDir: paths.migrations, schemaPath: paths.schema }),
      ).resolves.toBeNull();
    });

    it('and renders the missing migration for the edited schema, leaving no shadow database behind', async () => {
      const sql = await diffMigrationsToSchema({ serverUrl: migratedUrl, migrationsDir: copy.migrationsDir, schemaPath: copy.schemaPath });
      expect(sql).toMatch(/ALTER TABLE "users" ADD COLUMN\s+"nickname" TEXT/);
      const shadows = await db.query(`SELECT datname FROM pg_database WHERE datname LIKE 'prisma_shadow_%'`);
      expect(shadows).toEqual([]);
    });

    it('replays a migration whole: a `;` in a comment or a string literal is not the end of a statement', async () => {
      const withSemicolons = copyOfPrismaFolder();
      try {
        const dir = `${withSemicolons.migrationsDir}/29991231000000_semicolons`;
        fs.mkdirSync(dir);
        fs.writeFileSync(`${dir}/migration.sql`, `-- A note; with a semicolon, as a migration of the adapter has.\nCOMMENT ON TABLE "users" IS 'one; two';\n`);
        await expect(
          diffMigrationsToSchema({ serverUrl: migratedUrl, migrationsDir: withSemicolons.migrationsDir, schemaPath: withSemicolons.schemaPath }),
        ).resolves.toBeNull();
      } finally {
        withSemicolons.remove();
      }
    });
  });

  describe('prisma migrate deploy compatibility (the engine behind it, run as WASM)', () => {
    it('sees a schema migrated by db:migrate as up to date and applies nothing', async () => {
      const list = migrationList(paths.migrations);
      const [diagnosis, deploy] = await withSchemaEngine(migratedUrl, undefined, async (engine) => [
        await engine.diagnoseMigrationHistory({ migrationsList: list, optInToShadowDatabase: false, filters: NO_FILTER }),
        await engine.applyMigrations({ migrationsList: list, filters: NO_FILTER }),
      ]);

      expect(diagnosis).toMatchObject({ history: null, editedMigrationNames: [], failedMigrationNames: [], hasMigrationsTable: true });
      expect(deploy.appliedMigrationNames).toEqual([]);
    });

    it('db:migrate accepts a schema that Prisma migrated, and both keep the same migrations table', async () => {
      const schema = uniqueName('users');
      const url = db.url(schema);
      await db.query(`CREATE SCHEMA "${schema}"`);
      const deploy = await withSchemaEngine(url, undefined, (engine) =>
        engine.applyMigrations({ migrationsList: migrationList(paths.migrations), filters: NO_FILTER }),
      );
      expect(deploy.appliedMigrationNames).toEqual(names);

      const [ours] = await migrateAll({ databaseUrl: url, services: [SERVICE] });
      expect(ours.applied).toEqual([]);

      const columns = (s: string) =>
        db.query(
          `SELECT column_name, data_type, character_maximum_length, is_nullable, column_default
             FROM information_schema.columns WHERE table_schema = $1 AND table_name = '_prisma_migrations' ORDER BY ordinal_position`,
          [s],
        );
      const prismaColumns = await columns(schema);
      expect(prismaColumns).toHaveLength(8);
      expect(await columns(new URL(migratedUrl).searchParams.get('schema')!)).toEqual(prismaColumns);
    });
  });
});
