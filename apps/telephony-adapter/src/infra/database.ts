import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client';

export type { PrismaClient };
export type { Prisma } from '../generated/prisma/client';

/** Injection token of the adapter's PrismaClient. */
export const PRISMA = Symbol('PRISMA');

/** Prisma's `?schema=` URL convention → what pg understands, plus the schema to qualify queries with. */
export function parseDatabaseUrl(databaseUrl: string): { connectionString: string; schema: string } {
  const url = new URL(databaseUrl);
  const schema = url.searchParams.get('schema') || 'public';
  url.searchParams.delete('schema');
  return { connectionString: url.toString(), schema };
}

/** A PrismaClient bound to the URL's schema (`telephony` in production). */
export function createPrismaClient(databaseUrl: string, poolSize = 5): PrismaClient {
  const { connectionString, schema } = parseDatabaseUrl(databaseUrl);
  const adapter = new PrismaPg({ connectionString, max: poolSize, options: `-c search_path=${quoteIdent(schema)}` }, { schema });
  return new PrismaClient({ adapter });
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Prisma codes and driver-adapter kinds meaning "the database cannot serve now". */
const UNAVAILABLE_CODES = new Set(['P1001', 'P1002', 'P1003', 'P1008', 'P1017', 'P2024', 'P2028']);
const UNAVAILABLE_KINDS = new Set(['DatabaseNotReachable', 'DatabaseDoesNotExist', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);

export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: string; meta?: { driverAdapterError?: { cause?: { kind?: string } } } };
  return UNAVAILABLE_CODES.has(e?.code ?? '') || UNAVAILABLE_KINDS.has(e?.meta?.driverAdapterError?.cause?.kind ?? '');
}
