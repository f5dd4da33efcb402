import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RpcClient } from '@ringcloud/nest-nats';
import { AppLogger, enableDefaultMetrics } from '@ringcloud/nest-observability';
import { GatewayConfig } from './config';
import { GatewayModule } from './gateway.module';
import { answerClientError } from './http/client-error';
import { writeError } from './http/error-answer';
import { installRawBodyParser } from './http/raw-body';
import { installGracefulClose } from './http/graceful-close';
import { installRequestContext, logAccess, requestIdFor } from './http/request-context';
import { markIfDownload } from './v1/v1.pipeline';
import { originForm } from './routing/request-url';

/**
 * Builds the gateway (not listening yet): `await (await createGateway(cfg)).listen(port, host)`.
 * Starts without NATS or Redis too: requests then answer 503 and /readyz says what is missing.
 */
export async function createGateway(config: GatewayConfig): Promise<NestFastifyApplication> {
  enableDefaultMetrics('api-gateway');
  const adapter = new FastifyAdapter({
    trustProxy: config.TRUST_PROXY,
    bodyLimit: config.BODY_LIMIT_BYTES,
    // Slow clients (a body that never ends) are cut: Fastify leaves Node's request timeout off by
    // default, and Node looks at its connections every 30 s unless told otherwise.
    requestTimeout: config.REQUEST_TIMEOUT_MS,
    http: { headersTimeout: config.REQUEST_TIMEOUT_MS, requestTimeout: config.REQUEST_TIMEOUT_MS, connectionsCheckingInterval: 1000 },
    genReqId: requestIdFor,
    rewriteUrl: (req: { url?: string }) => originForm(req.url ?? '/'),
    // Repeated slashes are one for routing too (`//v1/users` from a base URL ending in `/`): the
    // gateway reads the path itself (parseRequestUrl), but Fastify must first find its `/v1/*` route.
    routerOptions: { ignoreDuplicateSlashes: true },
    requestIdHeader: false,
    // The gateway writes its own access log (request-context.ts); Fastify's would log URLs with keys.
    logger: false,
    // Undecodable URLs (`/v1/users/%`) never reach a route nor the hooks: answer them like any
    // unknown URL, with the request id and the access-log line the hooks would have added.
    frameworkErrors: (error: Error, request: FastifyRequest, reply: FastifyReply) => {
      reply.header('X-Request-Id', request.id);
      markIfDownload(request);
      writeError(request, reply, error);
      logAccess(request, reply);
    },
    clientErrorHandler: answerClientError,
    // During a graceful shutdown requests already on a connection are served, not refused with 503.
    return503OnClosing: false,
  });
  const app = await NestFactory.create<NestFastifyApplication>(GatewayModule.forRoot(config), adapter, {
    bodyParser: false,
    logger: new AppLogger({ app: 'api-gateway', level: config.LOG_LEVEL }),
  });
  const fastify = app.getHttpAdapter().getInstance();
  installRequestContext(fastify);
  installRawBodyParser(fastify, config.BODY_LIMIT_BYTES);
  installGracefulClose(fastify);
  // SIGTERM: stop accepting, finish the requests in progress, close NATS/Redis, exit 0.
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  await app.init();
  // Connect early so the first request does not pay for it; failures are retried per request.
  app
    .get(RpcClient)
    .connect()
    .catch((err: Error) => new Logger('Gateway').warn(`NATS not reachable yet: ${err.message}`));
  return app;
}
