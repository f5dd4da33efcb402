import { randomUUID } from 'node:crypto';
import {
  RingCloudApiError,
  RingCloudNetworkError,
  RingCloudProtocolError,
  RingCloudTimeoutError,
  apiError,
} from './errors.js';
import type { ApiResponse, DownloadedFile, OperationAuth, RequestOptions, RetryPolicy } from './types.js';

export const SDK_VERSION = '0.1.0';

export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 3,
  maxDelayMs: 30_000,
  maxElapsedMs: 60_000,
  retryUnavailable: true,
  baseDelayMs: 1_000,
};

export interface TransportOptions {
  baseUrl: string;
  apiKey?: string;
  hash?: string;
  adminToken?: string;
  retry?: Partial<RetryPolicy>;
  timeoutMs?: number;
  fetch?: typeof fetch;
  userAgent?: string;
}

/** One HTTP request, before credentials are added. */
export interface RequestSpec {
  method: string;
  /** The path with its parameters already in it (encoded), e.g. `/v1/users/1679728441`. */
  path: string;
  auth: OperationAuth;
  query?: Record<string, string | number | boolean | null | undefined>;
  /** `params`: wrap as `{"params": …}`; `json`: send as is. */
  bodyKind?: 'params' | 'json' | 'none';
  body?: unknown;
  download?: boolean;
  headers?: Record<string, string>;
}

export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** `Retry-After` as seconds: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (value === null || value.trim() === '') return null;
  if (/^\s*\d+\s*$/.test(value)) return Number(value);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - now) / 1000));
}

/** Fills `{name}` placeholders with encoded values (a `/` in a channel name becomes %2F, which v1 accepts). */
export function fillPath(template: string, values: Record<string, string | number> = {}): string {
  return template.replace(/\{([A-Za-z0-9_]+)\}/g, (_m, name: string) => {
    const value = values[name];
    if (value === undefined || value === null || String(value) === '') throw new TypeError(`path parameter "${name}" is missing`);
    return encodeURIComponent(String(value));
  });
}

function fileNameOf(disposition: string | null): string | null {
  if (!disposition) return null;
  const star = /filename\*\s*=\s*(?:UTF-8'')?([^;]+)/i.exec(disposition);
  if (star) {
    try {
      return decodeURIComponent(star[1].trim().replace(/^"|"$/g, ''));
    } catch {
      /* fall through to filename= */
    }
  }
  const plain = /filename\s*=\s*("([^"]*)"|[^;]+)/i.exec(disposition);
  return plain ? (plain[2] ?? plain[1]).trim() : null;
}

const REASONS: Record<number, string> = {
  400: 'Bad request',
  403: 'Forbidden',
  404: 'Not found',
  405: 'Method not allowed',
  413: 'Request body is too large',
  416: 'Range not satisfiable',
  429: 'Too many requests',
  500: 'Internal server error',
  502: 'Bad gateway',
  503: 'Service unavailable',
  504: 'Gateway timeout',
};

/**
 * The HTTP core: credentials, the v1 envelope, typed errors and the retry policy. Zero dependencies:
 * Node's own fetch and crypto.
 */
export class Transport {
  readonly baseUrl: URL;
  private readonly retry: RetryPolicy;
  private readonly timeoutMs: number;
  private readonly fetchFn: typeof fetch;
  private readonly userAgent: string;

  constructor(private readonly options: TransportOptions) {
    if (!options.baseUrl) throw new TypeError('baseUrl is required, e.g. http://127.0.0.1:3000');
    this.baseUrl = new URL(options.baseUrl);
    if (!/^https?:$/.test(this.baseUrl.protocol)) throw new TypeError(`baseUrl must be http(s): ${this.baseUrl.protocol}`);
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.fetchFn = options.fetch ?? globalThis.fetch;
    if (typeof this.fetchFn !== 'function') throw new TypeError('no fetch: Node.js ≥ 20 is required (or pass options.fetch)');
    this.userAgent = options.userAgent ?? `ringcloud-sdk-js/${SDK_VERSION} node/${process.versions.node}`;
  }

  /** The absolute URL of a path, credentials included for key operations (e.g. a recording's link). */
  url(path: string, query: RequestSpec['query'] = {}, auth: OperationAuth = 'key'): URL {
    // Join, never resolve: a base URL with a path prefix (https://host/ringcloud/) keeps it, and
    // `rec_file` values (which start with `/`) never produce `//`.
    const url = new URL(this.baseUrl.href);
    url.pathname = url.pathname.replace(/\/+$/, '') + '/' + path.replace(/^\/+/, '');
    url.search = '';
    if (auth === 'key') {
      const { apiKey, hash } = this.options;
      if (!apiKey || !hash) throw new TypeError('this operation needs apiKey and password (or hash)');
      url.searchParams.set('api_key', apiKey);
      url.searchParams.set('hash', hash);
    }
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== null) url.searchParams.set(name, String(value));
    }
    return url;
  }

  async request<T>(spec: RequestSpec, options: RequestOptions = {}): Promise<ApiResponse<T>> {
    const url = this.url(spec.path, spec.query, spec.auth);
    const method = spec.method.toUpperCase();
    const headers: Record<string, string> = { 'user-agent': this.userAgent, accept: spec.download ? '*/*' : 'application/json' };
    if (spec.auth === 'admin') {
      if (!this.options.adminToken) throw new TypeError('this operation needs adminToken (the operator API)');
      headers.authorization = `Bearer ${this.options.adminToken}`;
    }
    let body: string | undefined;
    if (spec.bodyKind === 'params' && method !== 'GET') body = JSON.stringify({ params: spec.body ?? {} });
    else if (spec.bodyKind === 'json' && spec.body !== undefined) body = JSON.stringify(spec.body);
    if (body !== undefined) headers['content-type'] = 'application/json';
    Object.assign(headers, spec.headers, options.headers);

    const policy: RetryPolicy = options.retry === false ? { ...this.retry, maxAttempts: 1 } : { ...this.retry, ...options.retry };
    // Safe to send again even if the first attempt ran: reads, and writes the server de-duplicates.
    const hasKey = Object.keys(headers).some((h) => h.toLowerCase() === 'idempotency-key');
    const repeatable = method === 'GET' || hasKey;
    const started = Date.now();
    const path = url.pathname;

    for (let attempt = 1; ; attempt++) {
      const canWait = (delayMs: number) =>
        attempt < policy.maxAttempts && delayMs <= policy.maxDelayMs && Date.now() - started + delayMs <= policy.maxElapsedMs;
      let response: Response;
      const timeout = AbortSignal.timeout(options.timeoutMs ?? this.timeoutMs);
      const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
      try {
        response = await this.fetchFn(url, { method, headers, body, signal, redirect: 'manual' });
      } catch (err) {
        if (options.signal?.aborted) throw options.signal.reason;
        const failure = timeout.aborted
          ? new RingCloudTimeoutError(`no answer within ${options.timeoutMs ?? this.timeoutMs} ms (${method} ${path})`, method, path, err)
          : new RingCloudNetworkError(`${describeNetworkError(err)} (${method} ${path} on ${url.host})`, method, path, err);
        const delay = policy.baseDelayMs * 2 ** (attempt - 1);
        if (repeatable && policy.retryUnavailable && canWait(delay)) {
          await sleep(delay, options.signal);
          continue;
        }
        throw failure;
      }

      const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
      // 429: refused before anything ran. 503: a backend is down. 409: the same Idempotency-Key is still
      // running elsewhere — the retry gets its kept answer.
      const retriable =
        response.status === 429 || ((response.status === 503 || (response.status === 409 && hasKey)) && repeatable && policy.retryUnavailable);
      if (retriable) {
        // A little jitter so clients refused together do not come back together.
        const delay = (retryAfter ?? (policy.baseDelayMs * 2 ** (attempt - 1)) / 1000) * 1000 + Math.floor(Math.random() * 100);
        if (canWait(delay)) {
          await response.body?.cancel().catch(() => undefined);
          await sleep(delay, options.signal);
          continue;
        }
      }
      try {
        return await this.answer<T>(response, spec, method, path, retryAfter);
      } catch (err) {
        if (err instanceof RingCloudApiError || err instanceof RingCloudProtocolError) throw err;
        if (options.signal?.aborted) throw options.signal.reason;
        // The body stopped arriving: the same as no answer.
        if (timeout.aborted) throw new RingCloudTimeoutError(`answer not complete within ${options.timeoutMs ?? this.timeoutMs} ms (${method} ${path})`, method, path, err);
        throw new RingCloudNetworkError(`${describeNetworkError(err)} while reading the answer (${method} ${path})`, method, path, err);
      }
    }
  }

  private async answer<T>(response: Response, spec: RequestSpec, method: string, path: string, retryAfter: number | null): Promise<ApiResponse<T>> {
    const requestId = response.headers.get('x-request-id');
    const nextCursor = response.headers.get('x-next-cursor');
    const ok = response.status >= 200 && response.status < 300;
    if (ok && spec.download) {
      const bytes = new Uint8Array(await response.arrayBuffer());
      const file: DownloadedFile = {
        data: bytes,
        contentType: response.headers.get('content-type') ?? 'application/octet-stream',
        fileName: fileNameOf(response.headers.get('content-disposition')),
        size: bytes.length,
      };
      return { data: file as T, status: response.status, headers: response.headers, requestId, nextCursor };
    }
    const text = await response.text();
    let parsed: any;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (ok) {
      if (spec.auth === 'none' && parsed !== undefined) {
        return { data: (parsed?.data ?? parsed) as T, status: response.status, headers: response.headers, requestId, nextCursor };
      }
      if (!parsed || typeof parsed !== 'object' || parsed.status !== 'success' || !('data' in parsed)) {
        throw new RingCloudProtocolError(`HTTP ${response.status} without the v1 envelope (${method} ${path})`, response.status, method, path);
      }
      return { data: parsed.data as T, status: response.status, headers: response.headers, requestId, nextCursor };
    }
    const message =
      parsed && typeof parsed === 'object' && typeof parsed.message === 'string' && parsed.message
        ? parsed.message
        : (REASONS[response.status] ?? `HTTP ${response.status}`);
    throw apiError({ status: response.status, message, method, path, retryAfter, requestId, body: parsed });
  }
}

function describeNetworkError(err: unknown): string {
  // Node's fetch says "fetch failed" and puts the reason (ECONNREFUSED…) in `cause`.
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  if (cause?.code) return `network error ${cause.code}${cause.message ? `: ${cause.message}` : ''}`;
  return `network error: ${err instanceof Error ? err.message : String(err)}`;
}

export const newIdempotencyKey = (): string => randomUUID();
