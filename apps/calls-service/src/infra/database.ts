import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client';

export type { PrismaClient };
export { Prisma } from '../generated/prisma/client';

/** Injection token of the service's PrismaClient. */
export const PRISMA = Symbol('PRISMA');

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

/**
 * A PrismaClient bound to the URL's schema. `search_path` is set too: the event upserts are raw SQL
 * and must find the same tables without qualifying them.
 */
export function createPrismaClient(databaseUrl: string, poolSize = 10): PrismaClient {
  const { connectionString, schema } = parseDatabaseUrl(databaseUrl);
  const adapter = new PrismaPg(
    { connectionString, max: poolSize, connectionTimeoutMillis: 5000, options: `-c search_path=${quoteIdent(schema)}` },
    { schema },
  );
  return new PrismaClient({ adapter });
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
