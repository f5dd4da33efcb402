import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { DomainError } from '@ringcloud/contracts-common';
import type { NatsConnection } from '@nats-io/nats-core';
import { NATS_CONNECTION } from '../outbox/outbox-relay';
import { PRISMA, PrismaClient } from './database';

/**
 * Owns the process's connections: checks the database for health pings, and closes PostgreSQL
 * and the plain NATS connection last on shutdown (after the relay stopped in
 * beforeApplicationShutdown).
 */
@Injectable()
export class Resources implements OnApplicationShutdown {
  private readonly logger = new Logger('Resources');

  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
  ) {}

  /** Throws UNAVAILABLE when the database does not answer within `timeoutMs`. */
  async checkDatabase(timeoutMs = 2000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
    });
    try {
      await Promise.race([this.prisma.$queryRaw`SELECT 1`, timedOut]);
    } catch {
      throw DomainError.unavailable('users database is unavailable');
    } finally {
      clearTimeout(timer);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.nc.drain().catch((err: Error) => this.logger.warn(`NATS drain: ${err.message}`));
    await this.prisma.$disconnect();
  }
}
