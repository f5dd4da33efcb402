import { INestApplicationContext, INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { RpcErrorFilter } from './rpc-server';
import { DrainingNatsServer } from './draining-server';

/**
 * Starts a NATS-only Nest microservice: replicas share one queue group, so each request is
 * handled once whatever the number of replicas. SIGTERM/SIGINT: subscriptions are drained,
 * requests in progress answered, shutdown hooks run, then the process exits 0.
 */
export async function createNatsMicroservice(
  module: unknown,
  options: { servers: string; queue: string; logger?: any },
): Promise<INestMicroservice & INestApplicationContext> {
  const server = new DrainingNatsServer({
    servers: options.servers,
    queue: options.queue,
    name: options.queue,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
  } as any);
  const app = await NestFactory.createMicroservice(module as any, { strategy: server, logger: options.logger });
  app.useGlobalFilters(new RpcErrorFilter());
  // process.exit(0) after a clean shutdown instead of re-raising the signal (exit code 143).
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  servers.set(app, server);
  return app;
}

const servers = new WeakMap<object, DrainingNatsServer>();

/** The NATS server of an app made by createNatsMicroservice (readiness: connected, not closing). */
export function natsServerOf(app: INestMicroservice): DrainingNatsServer {
  const server = servers.get(app);
  if (!server) throw new Error('not an app made by createNatsMicroservice');
  return server;
}
