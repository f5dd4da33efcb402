import { createSchemaBoundPrismaClient } from '@ringcloud/nest-prisma';
import { PrismaClient } from '../generated/prisma/client';

export type { PrismaClient };
export type { Prisma } from '../generated/prisma/client';
export { parseDatabaseUrl, quoteIdent } from '@ringcloud/nest-prisma';

/** Injection token of the adapter's PrismaClient. */
export const PRISMA = Symbol('PRISMA');

/** A PrismaClient bound to the URL's schema (`telephony` in production). */
export function createPrismaClient(databaseUrl: string, poolSize = 5): PrismaClient {
  return createSchemaBoundPrismaClient(PrismaClient, databaseUrl, { poolSize });
}

/**
 * Prisma codes and driver-adapter kinds meaning "the database cannot serve now". Narrower than
 * @ringcloud/nest-prisma's isDatabaseUnavailable (no access-denied, authentication or
 * closed-transaction kinds), so the adapter's retry decisions stay as they were.
 */
const UNAVAILABLE_CODES = new Set(['P1001', 'P1002', 'P1003', 'P1008', 'P1017', 'P2024', 'P2028']);
const UNAVAILABLE_KINDS = new Set(['DatabaseNotReachable', 'DatabaseDoesNotExist', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);

export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: string; meta?: { driverAdapterError?: { cause?: { kind?: string } } } };
  return UNAVAILABLE_CODES.has(e?.code ?? '') || UNAVAILABLE_KINDS.has(e?.meta?.driverAdapterError?.cause?.kind ?? '');
}
