/** Prisma codes and driver-adapter kinds that mean "the database cannot serve now", not "this request is wrong". */
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

interface KnownError {
  code?: string;
  meta?: { driverAdapterError?: { cause?: { kind?: string } } };
}

/** A Prisma error (code or driver-adapter kind) saying the database cannot serve now. */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as KnownError;
  return UNAVAILABLE_CODES.has(e?.code ?? '') || UNAVAILABLE_KINDS.has(e?.meta?.driverAdapterError?.cause?.kind ?? '');
}

/** A raw pg / network failure to reach the database, not (yet) wrapped by Prisma. */
export function isDatabaseConnectionFailure(err: unknown): boolean {
  if (NETWORK_ERRNOS.has((err as KnownError)?.code ?? '')) return true;
  const message = (err as Error)?.message ?? '';
  return /Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect|Can't reach database/i.test(message);
}
