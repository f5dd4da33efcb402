import { Inject, Injectable } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/nats-core';
import { ConnectionResources } from '@ringcloud/nest-prisma';
import { NATS_CONNECTION } from './nats';
import { PRISMA, PrismaClient } from './database';

/** The service's connections (PostgreSQL and the plain NATS connection), closed last on shutdown, after the relay stopped. */
@Injectable()
export class Resources extends ConnectionResources {
  constructor(@Inject(PRISMA) prisma: PrismaClient, @Inject(NATS_CONNECTION) nc: NatsConnection) {
    super(prisma, nc, 'users database is unavailable');
  }
}
