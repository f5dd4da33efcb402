/**
 * Errors are data: a service answers `{code, message}` across NATS, and the gateway maps
 * each code to one HTTP status in a single filter.
 */
export const ErrorCode = {
  BadRequest: 'BAD_REQUEST',
  Forbidden: 'FORBIDDEN',
  NotFound: 'NOT_FOUND',
  RateLimited: 'RATE_LIMITED',
  Unavailable: 'UNAVAILABLE',
  Internal: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** v1's 400 for an Idempotency-Key reused with other params (the gateway's check, and users-service's after 24 h). */
export const IDEMPOTENCY_MISMATCH_MESSAGE = 'Idempotency-Key was already used with other params: use a new key for a new request';

export interface ErrorData {
  code: ErrorCode;
  message: string;
}

export function isErrorData(value: unknown): value is ErrorData {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ErrorData).code === 'string' &&
    typeof (value as ErrorData).message === 'string' &&
    Object.values(ErrorCode).includes((value as ErrorData).code)
  );
}

/** Thrown by services for an expected failure; carried across NATS as ErrorData. */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }

  toData(): ErrorData {
    return { code: this.code, message: this.message };
  }

  static badRequest = (message: string) => new DomainError(ErrorCode.BadRequest, message);
  static forbidden = (message: string) => new DomainError(ErrorCode.Forbidden, message);
  static notFound = (message: string) => new DomainError(ErrorCode.NotFound, message);
  static unavailable = (message: string) => new DomainError(ErrorCode.Unavailable, message);
}
