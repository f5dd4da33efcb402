import { Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { RpcClient } from '@ringcloud/nest-nats';
import { GatewayConfig } from '../config';
import { HttpProblem } from '../http/http-problem';
import { readPlainBody, readQuery } from '../http/json-body';
import { parseRequestUrl } from '../routing/request-url';
import { Router } from '../routing/router';
import { GATEWAY_CONFIG } from '../tokens';
import { checkAdminToken } from './admin-auth';
import { ADMIN_PATH_PARAMS, ADMIN_ROUTES, AdminRoute } from './admin.routes';

const NOTHING = z.object({}).strict();

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
    // A route that takes no query or body still refuses what it does not know (400), as the others do.
    const query = readQuery(route.query ?? NOTHING, url.query);
    const body = readPlainBody(route.body ?? NOTHING, request.body);
    return route.handle({ path, body: route.body ? body : undefined, query }, { rpc: this.rpc });
  }
}
