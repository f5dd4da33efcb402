import { INestApplicationContext, INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MicroserviceOptions, Transport } from '@nestjs/microservices';
import { RpcErrorFilter } from './rpc-server';

/**
 * Starts a NATS-only Nest microservice: replicas share one queue group, so each request is
 * handled once whatever the number of replicas.
 */
export async function createNatsMicroservice(
  module: unknown,
  options: { servers: string; queue: string; logger?: any },
): Promise<INestMicroservice & INestApplicationContext> {
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(module as any, {
    transport: Transport.NATS,
    options: {
      servers: options.servers,
      queue: options.queue,
      name: options.queue,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
    } as any,
    logger: options.logger,
  });
  app.useGlobalFilters(new RpcErrorFilter());
  app.enableShutdownHooks();
  return app;
}
