import { isDatabaseConnectionFailure, isDatabaseUnavailable as isPrismaUnavailable } from '@ringcloud/nest-prisma';

/** Prisma / driver-adapter error shapes this service reacts to. */
interface KnownError {
  code?: string;
  meta?: { driverAdapterError?: { cause?: { originalCode?: string; code?: string } } };
}

/** Prisma's outage codes and kinds, and raw pg network failures too (seen while a connection is being opened). */
export function isDatabaseUnavailable(err: unknown): boolean {
  return isPrismaUnavailable(err) || isDatabaseConnectionFailure(err);
}

/** A deadlock or serialization failure: the same work succeeds when simply tried again. */
export function isRetryableConflict(err: unknown): boolean {
  const e = err as KnownError;
  if (e?.code === 'P2034') return true;
  const cause = e?.meta?.driverAdapterError?.cause;
  const sqlState = cause?.originalCode ?? cause?.code;
  return sqlState === '40001' || sqlState === '40P01' || /deadlock detected|could not serialize/i.test((err as Error)?.message ?? '');
}
