import { Inject, Injectable, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RpcClient } from '@ringcloud/nest-nats';
import { RateLimit } from '../config';
import { ApiKeyAuthenticator, AuthMessage } from '../auth/api-key.authenticator';
import { HttpProblem } from '../http/http-problem';
import { readV1Params } from '../http/json-body';
import { markFileDownload } from '../http/error-answer';
import { setRouteId } from '../http/request-context';
import { Metrics } from '@ringcloud/nest-observability';
import { canonicalQuery, parseRequestUrl } from '../routing/request-url';
import { Router } from '../routing/router';
import { RateLimiter, rateLimitHeaders } from '../rate-limit/rate-limiter';
import { RATE_LIMITS } from '../tokens';
import { RecordingStore } from '../recordings/recording-store';
import { IdempotencyStore, RecordedAnswer } from '../idempotency/idempotency-store';
import { BUSY_MESSAGE, MISMATCH_MESSAGE, REPLAYED_HEADER, paramsFingerprint, readIdempotencyKey } from '../idempotency/idempotency-key';
import { AccountKeys } from '../keys/account-keys';
import { KeyUsage } from '../keys/key-usage';
import { PATH_PARAMS, V1_ROUTES, V1Deps, V1Route, VerifiedKey } from './routes';
import { OriginateFlow } from './originate';

const V1_ROUTER = new Router<V1Route>(V1_ROUTES);

/**
 * A recording URL refused before it resolved (another method; an undecodable, dot or traversal
 * name — Fastify refuses some before any route) is still a download's failure: its error answer
 * has an empty body (spec section 2).
 */
export function markIfDownload(request: FastifyRequest): void {
  if (V1_ROUTER.routesAt(parseRequestUrl(request.url).rawSegments).some((r) => r.fileDownload)) markFileDownload(request);
}

/**
 * The v1 request pipeline, in the contract's order:
 * route (404/405) → authenticate (403) → access (403) → rate limit (429) → path and body (404/400)
 * → the route's handler (a NATS command). Whatever is thrown is answered by GatewayErrorFilter.
 * A route marked `idempotent` with an `Idempotency-Key` checks the key after access and before the
 * rate limit: a replay is not counted, and only the first of concurrent duplicates runs.
 */
@Injectable()
export class V1Pipeline {
  private readonly logger = new Logger(V1Pipeline.name);
  readonly router = V1_ROUTER;
  private readonly deps: V1Deps;

  constructor(
    private readonly authenticator: ApiKeyAuthenticator,
    private readonly limiter: RateLimiter,
    @Inject(RATE_LIMITS) private readonly limits: ReadonlyMap<string, RateLimit>,
    rpc: RpcClient,
    recordings: RecordingStore,
    private readonly idempotency: IdempotencyStore,
    accountKeys: AccountKeys,
    private readonly keyUsage: KeyUsage,
  ) {
    this.deps = { rpc, originate: new OriginateFlow(rpc), recordings, accountKeys };
  }

  /** Runs the request and returns the success `data`. */
  async run(request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const url = parseRequestUrl(request.url);
    let match;
    try {
      match = this.router.resolve(request.method, url.segments);
    } catch (err) {
      markIfDownload(request);
      throw err;
    }
    const route = match.route;
    setRouteId(request, route.id);
    if (route.fileDownload) markFileDownload(request);

    const key = await this.authenticator.authenticate(url.query);
    this.keyUsage.touch(key.api_key, key.account_id);
    if (route.access === 'RW' && key.access !== 'RW') throw HttpProblem.forbidden(AuthMessage.ReadOnly);

    const limitedUrl = `${request.method} ${match.canonicalPath}?${canonicalQuery(url.query)}`;
    const idempotencyKey = route.idempotent ? readIdempotencyKey(request.headers) : undefined;
    if (idempotencyKey === undefined) {
      await this.applyLimit(route, key, limitedUrl, reply);
      return this.execute(route, key, match.params, url.query, request.body, reply);
    }

    let begin;
    try {
      begin = await this.idempotency.begin(key.account_id, route.id, idempotencyKey, paramsFingerprint(route.params, request.body));
    } catch (err) {
      // Without the store the guarantee cannot be kept: run nothing (the client retries with the same key).
      this.logger.warn(`idempotency store unavailable: ${(err as Error).message}`);
      throw HttpProblem.unavailable();
    }
    if (begin.kind === 'mismatch') throw HttpProblem.badRequest(MISMATCH_MESSAGE);
    if (begin.kind === 'busy') throw new HttpProblem(409, BUSY_MESSAGE, { 'Retry-After': '1' });
    if (begin.kind === 'replay') return replay(begin.answer, reply);

    // First with this key. Only a success is kept: an error means nothing was done (a refusal, or a
    // 5xx the client should retry), so it frees the key and a retry with it runs again — e.g. an
    // originate refused while the phone was not registered yet.
    try {
      await this.applyLimit(route, key, limitedUrl, reply);
      const data = await this.execute(route, key, match.params, url.query, request.body, reply, idempotencyKey);
      await this.finishQuietly(begin.claim, { status: 200, data, headers: routeHeaders(route, reply) });
      return data;
    } catch (err) {
      await this.finishQuietly(begin.claim, null);
      throw err;
    }
  }

  /** Path and params (404/400), then the route's handler. */
  private async execute(
    route: V1Route,
    key: VerifiedKey,
    rawPath: Record<string, string>,
    query: URLSearchParams,
    body: unknown,
    reply: FastifyReply,
    idempotencyKey?: string,
  ): Promise<unknown> {
    const path = validatePathParams(rawPath);
    const params = readV1Params(route.params, body);
    const headers: Record<string, string> = {};
    const data = await route.handle({ key, path, params, query, idempotencyKey, setHeader: headerSetter(route, headers) }, this.deps);
    // Only a successful answer carries them: a handler that sets one and then fails leaves none.
    reply.headers(headers);
    return data;
  }

  /** Keeping the answer must not turn a command that ran into an error: the client gets its real answer. */
  private async finishQuietly(claim: Parameters<IdempotencyStore['finish']>[0], answer: RecordedAnswer | null): Promise<void> {
    try {
      await this.idempotency.finish(claim, answer);
    } catch (err) {
      this.logger.warn(`idempotency store unavailable, answer not kept: ${(err as Error).message}`);
    }
  }

  private async applyLimit(route: V1Route, key: VerifiedKey, url: string, reply: FastifyReply): Promise<void> {
    const limit = this.limits.get(route.id) ?? route.limit;
    let decision;
    try {
      decision = await this.limiter.hit(route.id, limit, `${key.api_key}\n${url}`);
    } catch (err) {
      this.logger.warn(`rate limiter unavailable: ${(err as Error).message}`);
      throw HttpProblem.unavailable();
    }
    reply.headers(rateLimitHeaders(decision));
    if (!decision.allowed) {
      Metrics.rateLimitRejections().inc({ limit: decision.limitId });
      throw new HttpProblem(429, 'Rate limit exceeded', { 'Retry-After': String(decision.resetSeconds) });
    }
  }
}

/** The route's own headers as they were set on this answer (X-Call-Id …), to repeat on a replay. */
function routeHeaders(route: V1Route, reply: FastifyReply): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { name } of route.responseHeaders ?? []) {
    const value = reply.getHeader(name);
    if (typeof value === 'string') out[name] = value;
  }
  return out;
}

/** The first answer again, marked as a replay. */
function replay(answer: RecordedAnswer, reply: FastifyReply): unknown {
  reply.headers({ ...answer.headers, [REPLAYED_HEADER]: 'true' });
  return answer.data;
}

/** `call.setHeader` of one request: declared headers only, values that cannot split a response. */
function headerSetter(route: V1Route, into: Record<string, string>): (name: string, value: string) => void {
  const declared = new Map((route.responseHeaders ?? []).map((h) => [h.name.toLowerCase(), h.name]));
  return (name, value) => {
    const canonical = declared.get(name.toLowerCase());
    if (!canonical) throw new Error(`route ${route.id} sets undeclared response header ${name}`);
    if (!/^[\x20-\x7e]*$/.test(value)) throw new Error(`route ${route.id}: header ${name} has a value that is not printable ASCII`);
    into[canonical] = value;
  };
}

function validatePathParams(raw: Record<string, string>): Record<string, string> {
  const path: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    const rule = PATH_PARAMS[name];
    if (!rule || !rule.schema.safeParse(value).success) throw HttpProblem.notFound(rule?.notFound);
    path[name] = value;
  }
  return path;
}
