import { Inject, Injectable } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/nats-core';
import { ConnectionResources } from '@ringcloud/nest-prisma';
import { PRISMA, PrismaClient } from './database';

export const NATS_CONNECTION = Symbol('NATS_CONNECTION');
/** JetStream client on that connection (the CRM events outbox relay publishes with it). */
export const JETSTREAM = Symbol('JETSTREAM');

/** The service's connections (PostgreSQL and the plain NATS connection), closed last on shutdown, after the consumer finished its in-flight messages. */
@Injectable()
export class Resources extends ConnectionResources {
  constructor(@Inject(PRISMA) prisma: PrismaClient, @Inject(NATS_CONNECTION) nc: NatsConnection) {
    super(prisma, nc, 'calls database is unavailable');
  }
}
