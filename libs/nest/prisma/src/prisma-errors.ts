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

/**
 * SQLSTATEs of text PostgreSQL cannot store: 22021 character_not_in_repertoire (a NUL, 0x00, in
 * UTF-8 text) and 22P05 untranslatable_character. The request carried them, so it is the request
 * that is wrong.
 */
const UNSTORABLE_TEXT_STATES = new Set(['22021', '22P05']);

interface KnownError {
  code?: string;
  meta?: { driverAdapterError?: { cause?: { kind?: string; originalCode?: string; code?: string } } };
}

/** P2025: the row an update or delete named is not there (another request removed it meanwhile). */
export const isRecordNotFound = (err: unknown): boolean => (err as KnownError)?.code === 'P2025';

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

/** Text the database refused to store (see UNSTORABLE_TEXT_STATES): from Prisma (any query) or raw pg. */
export function isUnstorableText(err: unknown): boolean {
  const e = err as KnownError;
  const cause = e?.meta?.driverAdapterError?.cause;
  return [e?.code, cause?.originalCode, cause?.code].some((state) => UNSTORABLE_TEXT_STATES.has(state ?? ''));
}
