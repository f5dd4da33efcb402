import { createSchemaBoundPrismaClient } from '@ringcloud/nest-prisma';
import { PrismaClient } from '../generated/prisma/client';

export type { PrismaClient };
export type { Prisma } from '../generated/prisma/client';
export { parseDatabaseUrl, quoteIdent } from '@ringcloud/nest-prisma';

/** Injection token of the service's PrismaClient. */
export const PRISMA = Symbol('PRISMA');

/** A PrismaClient bound to the URL's schema; raw SQL (the outbox relay's `FOR UPDATE SKIP LOCKED`) finds the same tables. */
export function createPrismaClient(databaseUrl: string, poolSize = 10): PrismaClient {
  return createSchemaBoundPrismaClient(PrismaClient, databaseUrl, { poolSize });
}
