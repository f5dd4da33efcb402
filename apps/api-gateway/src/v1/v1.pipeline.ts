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
import { AccountKeys } from '../keys/account-keys';
import { KeyUsage } from '../keys/key-usage';
import { PATH_PARAMS, V1_ROUTES, V1Deps, V1Route, VerifiedKey } from './routes';

/**
 * The v1 request pipeline, in the contract's order:
 * route (404/405) → authenticate (403) → access (403) → rate limit (429) → path and body (404/400)
 * → the route's handler (a NATS command). Whatever is thrown is answered by GatewayErrorFilter.
 */
@Injectable()
export class V1Pipeline {
  private readonly logger = new Logger(V1Pipeline.name);
  readonly router = new Router<V1Route>(V1_ROUTES);
  private readonly deps: V1Deps;

  constructor(
    private readonly authenticator: ApiKeyAuthenticator,
    private readonly limiter: RateLimiter,
    @Inject(RATE_LIMITS) private readonly limits: ReadonlyMap<string, RateLimit>,
    rpc: RpcClient,
    recordings: RecordingStore,
    accountKeys: AccountKeys,
    private readonly keyUsage: KeyUsage,
  ) {
    this.deps = { rpc, recordings, accountKeys };
  }

  /** Runs the request and returns the success `data`. */
  async run(request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const url = parseRequestUrl(request.url);
    const match = this.router.resolve(request.method, url.segments);
    const route = match.route;
    setRouteId(request, route.id);
    if (route.fileDownload) markFileDownload(request);

    const key = await this.authenticator.authenticate(url.query);
    this.keyUsage.touch(key.api_key, key.account_id);
    if (route.access === 'RW' && key.access !== 'RW') throw HttpProblem.forbidden(AuthMessage.ReadOnly);

    await this.applyLimit(route, key, `${request.method} ${match.canonicalPath}?${canonicalQuery(url.query)}`, reply);

    const path = validatePathParams(match.params);
    const params = readV1Params(route.params, request.body);
    const headers: Record<string, string> = {};
    const data = await route.handle({ key, path, params, query: url.query, setHeader: headerSetter(route, headers) }, this.deps);
    // Only a successful answer carries them: a handler that sets one and then fails leaves none.
    reply.headers(headers);
    return data;
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
