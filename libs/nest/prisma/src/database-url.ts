import { PrismaPg } from '@prisma/adapter-pg';

/**
 * Splits Prisma's `?schema=` URL convention into what pg understands (the connection string
 * without it) and the PostgreSQL schema the adapter should qualify its queries with.
 */
export function parseDatabaseUrl(databaseUrl: string): { connectionString: string; schema: string } {
  const url = new URL(databaseUrl);
  const schema = url.searchParams.get('schema') || 'public';
  url.searchParams.delete('schema');
  return { connectionString: url.toString(), schema };
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export interface SchemaBoundPoolOptions {
  poolSize: number;
  /** pg's wait for a new connection; unset, pg waits as long as the OS does. */
  connectionTimeoutMillis?: number;
}

/**
 * An app's own generated PrismaClient bound to the URL's schema. `search_path` is set too, so raw
 * SQL finds the same tables without qualifying them.
 */
export function createSchemaBoundPrismaClient<C>(
  PrismaClientClass: new (options: { adapter: PrismaPg }) => C,
  databaseUrl: string,
  { poolSize, connectionTimeoutMillis }: SchemaBoundPoolOptions,
): C {
  const { connectionString, schema } = parseDatabaseUrl(databaseUrl);
  const adapter = new PrismaPg(
    {
      connectionString,
      max: poolSize,
      ...(connectionTimeoutMillis === undefined ? {} : { connectionTimeoutMillis }),
      options: `-c search_path=${quoteIdent(schema)}`,
    },
    { schema },
  );
  return new PrismaClientClass({ adapter });
}
