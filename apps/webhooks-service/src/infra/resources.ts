import { Inject, Injectable } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/nats-core';
import { ConnectionResources } from '@ringcloud/nest-prisma';
import { PRISMA, PrismaClient } from './database';

export const NATS_CONNECTION = Symbol('NATS_CONNECTION');

/** PostgreSQL and the plain NATS connection, closed last on shutdown (after the consumer and the dispatcher stopped). */
@Injectable()
export class Resources extends ConnectionResources {
  constructor(@Inject(PRISMA) prisma: PrismaClient, @Inject(NATS_CONNECTION) nc: NatsConnection) {
    super(prisma, nc, 'webhooks database is unavailable');
  }
}
