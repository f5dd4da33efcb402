import { Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { RpcClient } from '@ringcloud/nest-nats';
import { GatewayConfig } from '../config';
import { HttpProblem } from '../http/http-problem';
import { parseJsonBody, readPlainBody, readQuery } from '../http/json-body';
import { parseRequestUrl } from '../routing/request-url';
import { Router } from '../routing/router';
import { GATEWAY_CONFIG } from '../tokens';
import { checkAdminToken } from './admin-auth';
import { ADMIN_PATH_PARAMS, ADMIN_ROUTES, AdminRoute } from './admin.routes';

/** route (404/405) → admin token (403) → path, query and body (404/400) → users-service command. */
@Injectable()
export class AdminPipeline {
  readonly router = new Router<AdminRoute>(ADMIN_ROUTES);

  constructor(
    private readonly rpc: RpcClient,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  async run(request: FastifyRequest): Promise<unknown> {
    const url = parseRequestUrl(request.url);
    const { route, params } = this.router.resolve(request.method, url.segments);
    checkAdminToken(this.config.ADMIN_TOKEN, request.headers.authorization);

    const path: Record<string, string> = {};
    for (const [name, value] of Object.entries(params)) {
      const rule = ADMIN_PATH_PARAMS[name];
      if (!rule || !rule.schema.safeParse(value).success) throw HttpProblem.notFound(rule?.notFound);
      path[name] = value;
    }
    const query = route.query ? readQuery(route.query, url.query) : {};
    let body: unknown;
    if (route.body) body = readPlainBody(route.body, request.body);
    else parseJsonBody(request.body); // a body that is there must still be JSON
    return route.handle({ path, body, query }, { rpc: this.rpc });
  }
}
