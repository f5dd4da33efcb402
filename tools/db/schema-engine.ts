// Prisma's own schema engine (the migration differ behind `prisma migrate diff|dev|deploy`), run as
// WebAssembly with the `pg` driver adapter. Prisma 7's CLI only drives the native schema-engine binary,
// which is downloaded from Prisma's servers and so is not available everywhere; the WASM build of the
// same engine is an ordinary npm package and talks to PostgreSQL through @prisma/adapter-pg.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import {
  bindMigrationAwareSqlAdapterFactory,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils';
import type { MigrationList, SchemaEngine, SchemaFilter } from '@prisma/schema-engine-wasm';
import pg from 'pg';
import { pgConnectionString, quoteIdent } from './database-url';
import { listMigrations, MIGRATION_LOCK_CONTENT, MIGRATION_LOCK_FILE } from './migrations';

interface SchemaEngineModule {
  SchemaEngine: { new: (options: { datamodels: [string, string][] | undefined }, log: (message: string) => void, adapter: object) => Promise<SchemaEngine> };
  __wbg_set_wasm(exports: Record<string, unknown>): void;
}

// The workspace's lib (ES2023, no DOM) has no WebAssembly typings; Node has the global.
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
};

const NO_FILTER: SchemaFilter = { externalTables: [], externalEnums: [] };

let engineModule: SchemaEngineModule | undefined;

/** The package's entry point imports the .wasm as an ES module, which Node 20 cannot; instantiate it here. */
function loadEngineModule(): SchemaEngineModule {
  if (!engineModule) {
    const bindingsPath = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
    const bindings = require('@prisma/schema-engine-wasm/schema_engine_bg') as SchemaEngineModule;
    const wasm = new WebAssembly.Module(fs.readFileSync(path.join(path.dirname(bindingsPath), 'schema_engine_bg.wasm')));
    const imports: Record<string, unknown> = { ...bindings };
    for (const [name, fn] of Object.entries(bindings)) {
      // The engine arms timeouts (e.g. 10 s for the migration lock) that it never clears: they must
      // not keep the process alive once its work is done.
      if (name.startsWith('__wbg_setTimeout_') && typeof fn === 'function') {
        imports[name] = (...args: unknown[]) => {
          const timer = fn(...args);
          timer?.unref?.();
          return timer;
        };
      }
    }
    const instance = new WebAssembly.Instance(wasm, { './schema_engine_bg.js': imports });
    bindings.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    engineModule = bindings;
  }
  return engineModule;
}

/**
 * adapter-pg 7.10 cannot map PostgreSQL's internal one-byte "char" type (OID 18), which the engine's
 * catalog queries return (pg_class.relkind, …). `pg` already parses it as a string; call it text.
 */
class CatalogFriendlyClient extends pg.Client {
  override query(...args: any[]): any {
    const relabel = (result: any) => {
      for (const field of result?.fields ?? []) if (field.dataTypeID === 18) field.dataTypeID = 25;
      return result;
    };
    const callback = typeof args[args.length - 1] === 'function' ? args.pop() : undefined;
    if (callback) return (super.query as any)(...args, (error: unknown, result: unknown) => callback(error, error ? result : relabel(result)));
    const pending = (super.query as any)(...args);
    return pending && typeof pending.then === 'function' ? pending.then(relabel) : pending;
  }
}

/**
 * Connections for the engine. Shadow databases (for replaying migrations) are created and dropped
 * here rather than by PrismaPg, whose cleanup drops the database before closing its connections.
 */
class EngineConnections implements SqlMigrationAwareDriverAdapterFactory {
  readonly provider = 'postgres' as const;
  readonly adapterName = '@prisma/adapter-pg';
  private readonly pools: pg.Pool[] = [];
  private readonly shadowDatabases: string[] = [];

  /** `schema`: the PostgreSQL schema to read and write, as `?schema=` does for Prisma. */
  constructor(
    private readonly connectionString: string,
    private readonly schema?: string,
  ) {}

  connect(): Promise<SqlDriverAdapter> {
    const pool = this.pool(this.connectionString, this.schema);
    return new PrismaPg(pool, { schema: this.schema }).connect().then((adapter) => wholeScripts(adapter, pool));
  }

  async connectToShadowDb(): Promise<SqlDriverAdapter> {
    const database = `prisma_shadow_${randomUUID().replace(/-/g, '')}`;
    await this.admin(`CREATE DATABASE ${quoteIdent(database)}`);
    this.shadowDatabases.push(database);
    const pool = this.pool(pgConnectionString(this.connectionString, database));
    return wholeScripts(await new PrismaPg(pool).connect(), pool);
  }

  async close(): Promise<void> {
    await Promise.all(this.pools.map((pool) => pool.end().catch(() => undefined)));
    for (const database of this.shadowDatabases) {
      await this.admin(`DROP DATABASE IF EXISTS ${quoteIdent(database)} WITH (FORCE)`);
    }
  }

  private pool(connectionString: string, schema?: string): pg.Pool {
    const pool = new pg.Pool({
      connectionString,
      Client: CatalogFriendlyClient as unknown as new () => pg.ClientBase,
      // Unqualified names in migration scripts land in the target schema, as with Prisma's engine.
      ...(schema ? { options: `-c search_path=${quoteIdent(schema)}` } : {}),
    });
    pool.on('error', () => undefined); // idle-connection errors also fail the pending engine call
    this.pools.push(pool);
    return pool;
  }

  private async admin(sql: string): Promise<void> {
    const client = new pg.Client({ connectionString: this.connectionString });
    client.on('error', () => undefined);
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  }
}

/**
 * PrismaPg runs a script by splitting it at every `;`, even one in a comment or a string literal
 * (the adapter's 20261203220000 migration has one in a comment), and sends the pieces one by one.
 * Prisma's native engine, and tools/db/migrate.ts, send a migration whole: so does this.
 */
function wholeScripts(adapter: SqlDriverAdapter, pool: pg.Pool): SqlDriverAdapter {
  return Object.assign(Object.create(adapter) as SqlDriverAdapter, {
    executeScript: async (script: string) => {
      await pool.query(script);
    },
  });
}

export interface SchemaFile {
  path: string;
  content: string;
}

export function readSchemaFile(schemaPath: string): SchemaFile {
  return { path: schemaPath, content: fs.readFileSync(schemaPath, 'utf8') };
}

/** Runs `fn` with an engine connected to `databaseUrl` (its `schema` parameter selects the schema). */
export async function withSchemaEngine<T>(databaseUrl: string, schema: SchemaFile | undefined, fn: (engine: SchemaEngine) => Promise<T>): Promise<T> {
  const { SchemaEngine } = loadEngineModule();
  const connections = new EngineConnections(pgConnectionString(databaseUrl), new URL(databaseUrl).searchParams.get('schema') ?? undefined);
  try {
    const engine = await SchemaEngine.new(
      { datamodels: schema ? [[schema.path, schema.content]] : undefined },
      () => undefined,
      bindMigrationAwareSqlAdapterFactory(connections),
    );
    try {
      return await fn(engine);
    } finally {
      engine.free();
    }
  } finally {
    await connections.close();
  }
}

/** The engine's view of a migrations folder, as the CLI builds it. */
export function migrationList(migrationsDir: string): MigrationList {
  const lockPath = path.join(migrationsDir, MIGRATION_LOCK_FILE);
  return {
    baseDir: migrationsDir,
    lockfile: { path: MIGRATION_LOCK_FILE, content: fs.existsSync(lockPath) ? fs.readFileSync(lockPath, 'utf8') : MIGRATION_LOCK_CONTENT },
    shadowDbInitScript: '',
    migrationDirectories: listMigrations(migrationsDir).map((migration) => ({
      path: migration.name,
      migrationFile: { path: 'migration.sql', content: { tag: 'ok', value: migration.sql } },
    })),
  };
}

/**
 * The SQL a new migration needs so that the migrations produce what schema.prisma describes, or null
 * when they already do. Replays the migrations in a throw-away shadow database, like `migrate dev`.
 * `serverUrl` only has to reach a PostgreSQL server where the user may CREATE DATABASE.
 */
export async function diffMigrationsToSchema(opts: { serverUrl: string; migrationsDir: string; schemaPath: string }): Promise<string | null> {
  const schema = readSchemaFile(opts.schemaPath);
  const serverUrl = pgConnectionString(opts.serverUrl, 'postgres');
  return withSchemaEngine(serverUrl, schema, (engine) =>
    changesOrNull(
      engine.diff({
        from: { tag: 'migrations', ...migrationList(opts.migrationsDir) },
        to: { tag: 'schemaDatamodel', files: [schema] },
        script: true,
        exitCode: true,
        filters: NO_FILTER,
      }),
    ),
  );
}

/** What a live schema (`databaseUrl` with ?schema=) lacks compared to schema.prisma, or null when none. */
export async function diffDatabaseToSchema(opts: { databaseUrl: string; schemaPath: string }): Promise<string | null> {
  const schema = readSchemaFile(opts.schemaPath);
  return withSchemaEngine(opts.databaseUrl, schema, (engine) =>
    changesOrNull(
      engine.diff({
        from: { tag: 'schemaDatasource', files: [schema], configDir: path.dirname(opts.schemaPath) },
        to: { tag: 'schemaDatamodel', files: [schema] },
        script: true,
        exitCode: true,
        filters: NO_FILTER,
      }),
    ),
  );
}

async function changesOrNull(pending: Promise<{ exitCode: number; stdout: string | null }>): Promise<string | null> {
  const result = await pending;
  // With exitCode requested the engine answers 2 for "there are changes", as `migrate diff --exit-code` does.
  if (result.exitCode === 0) return null;
  if (result.exitCode === 2) return result.stdout ?? '';
  throw new Error(`schema engine diff exited with ${result.exitCode}: ${result.stdout ?? ''}`);
}
