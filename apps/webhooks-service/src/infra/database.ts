import { createSchemaBoundPrismaClient } from '@ringcloud/nest-prisma';
import { PrismaClient } from '../generated/prisma/client';

export type { PrismaClient };
export { Prisma } from '../generated/prisma/client';

/** Injection token of the service's PrismaClient. */
export const PRISMA = Symbol('PRISMA');

/** A PrismaClient bound to the URL's schema; the raw SQL (ingest, claiming, the feed) finds the same tables. */
export function createPrismaClient(databaseUrl: string, poolSize = 10): PrismaClient {
  return createSchemaBoundPrismaClient(PrismaClient, databaseUrl, { poolSize, connectionTimeoutMillis: 5000 });
}
