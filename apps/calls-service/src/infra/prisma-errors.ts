/** Prisma / driver-adapter error shapes this service reacts to. */
interface KnownError {
  code?: string;
  meta?: { driverAdapterError?: { cause?: { kind?: string; originalCode?: string; code?: string } } };
}

/** Prisma codes and driver-adapter kinds that mean "the database cannot serve now", not "this is wrong". */
const UNAVAILABLE_CODES = new Set(['P1001', 'P1002', 'P1003', 'P1008', 'P1017', 'P2024', 'P2028']);
const UNAVAILABLE_KINDS = new Set([
  'DatabaseNotReachable',
  'DatabaseDoesNotExist',
  'DatabaseAccessDenied',
  'AuthenticationFailed',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
  'TransactionAlreadyClosed',
]);
/** Network errors pg raises itself before Prisma wraps them (seen while a connection is being opened). */
const NETWORK_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE']);

export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as KnownError;
  if (UNAVAILABLE_CODES.has(e?.code ?? '') || NETWORK_ERRNOS.has(e?.code ?? '')) return true;
  if (UNAVAILABLE_KINDS.has(e?.meta?.driverAdapterError?.cause?.kind ?? '')) return true;
  const message = (err as Error)?.message ?? '';
  return /Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect|Can't reach database/i.test(message);
}

/** A deadlock or serialization failure: the same work succeeds when simply tried again. */
export function isRetryableConflict(err: unknown): boolean {
  const e = err as KnownError;
  if (e?.code === 'P2034') return true;
  const cause = e?.meta?.driverAdapterError?.cause;
  const sqlState = cause?.originalCode ?? cause?.code;
  return sqlState === '40001' || sqlState === '40P01' || /deadlock detected|could not serialize/i.test((err as Error)?.message ?? '');
}
