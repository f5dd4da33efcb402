/**
 * Typed errors. Every API error carries the v1 message (the envelope's `message`), the HTTP status,
 * `Retry-After` when the server sent one, and the request id. No error message or property ever
 * contains the api_key, the hash or the admin token: requests are named by method and path only.
 */

export class RingCloudError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export interface ApiErrorDetails {
  status: number;
  /** The v1 message, e.g. `Invalid hash`; for answers without an envelope (a recording download), the HTTP reason. */
  message: string;
  method: string;
  /** The request's path, without the query string (credentials never appear). */
  path: string;
  /** `Retry-After`, in seconds. */
  retryAfter?: number | null;
  requestId?: string | null;
  /** The parsed error body, when it was JSON. */
  body?: unknown;
}

/** The server answered with an error status. */
export class RingCloudApiError extends RingCloudError {
  readonly status: number;
  /** The v1 message alone (`message` also names the request). */
  readonly apiMessage: string;
  readonly method: string;
  readonly path: string;
  readonly retryAfter: number | null;
  readonly requestId: string | null;
  readonly body: unknown;

  constructor(details: ApiErrorDetails) {
    super(`${details.status} ${details.message} (${details.method} ${details.path})`);
    this.status = details.status;
    this.apiMessage = details.message;
    this.method = details.method;
    this.path = details.path;
    this.retryAfter = details.retryAfter ?? null;
    this.requestId = details.requestId ?? null;
    this.body = details.body;
  }
}

/** 400: bad parameters, malformed JSON, an unknown user in the body… */
export class BadRequestError extends RingCloudApiError {}
/** 403: `API key is not specified`, `Invalid hash`, `API key is read-only`… */
export class ForbiddenError extends RingCloudApiError {}
/** 404: unknown URL, or an unknown (or another account's) user, channel, recording, call. */
export class NotFoundError extends RingCloudApiError {}
/** 405: the URL exists with another method. */
export class MethodNotAllowedError extends RingCloudApiError {}
/** 409: a request with the same `Idempotency-Key` is still running (the SDK waits and retries it). */
export class ConflictError extends RingCloudApiError {}
/** 413: the body is over the server's limit. */
export class PayloadTooLargeError extends RingCloudApiError {}
/** 429: the rate limit (per key and exact URL); `retryAfter` says when to try again. */
export class RateLimitError extends RingCloudApiError {}
/** 503: a backend is unavailable; `retryAfter` says when to try again. */
export class ServiceUnavailableError extends RingCloudApiError {}
/** 500 and other 5xx: a server bug. */
export class ServerError extends RingCloudApiError {}

const BY_STATUS: Record<number, new (d: ApiErrorDetails) => RingCloudApiError> = {
  400: BadRequestError,
  403: ForbiddenError,
  404: NotFoundError,
  405: MethodNotAllowedError,
  409: ConflictError,
  413: PayloadTooLargeError,
  429: RateLimitError,
  503: ServiceUnavailableError,
};

export function apiError(details: ApiErrorDetails): RingCloudApiError {
  const Class = BY_STATUS[details.status] ?? (details.status >= 500 ? ServerError : RingCloudApiError);
  return new Class(details);
}

/** The request never got an answer: connection refused or reset, DNS failure, timeout. */
export class RingCloudNetworkError extends RingCloudError {
  constructor(
    message: string,
    readonly method: string,
    readonly path: string,
    cause?: unknown,
  ) {
    super(message, { cause });
  }
}

/** No answer within `timeoutMs`. */
export class RingCloudTimeoutError extends RingCloudNetworkError {}

/** The server answered something that is not the v1 envelope (a proxy's error page, a truncated body). */
export class RingCloudProtocolError extends RingCloudError {
  constructor(
    message: string,
    readonly status: number,
    readonly method: string,
    readonly path: string,
  ) {
    super(message);
  }
}

/** A webhook failed verification: a missing header, a stale timestamp or no matching signature. */
export class WebhookVerificationError extends RingCloudError {}
