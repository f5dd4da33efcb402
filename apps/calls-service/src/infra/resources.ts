import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/nats-core';
import { DomainError } from '@ringcloud/contracts-common';
import { PRISMA, PrismaClient } from './database';

export const NATS_CONNECTION = Symbol('NATS_CONNECTION');

/**
 * Owns the process's connections: checks the database for health pings and the event consumer,
 * and closes the plain NATS connection and PostgreSQL last on shutdown (after the consumer has
 * finished its in-flight messages in beforeApplicationShutdown).
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
      throw DomainError.unavailable('calls database is unavailable');
    } finally {
      clearTimeout(timer);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.nc.drain().catch((err: Error) => this.logger.warn(`NATS drain: ${err.message}`));
    await this.prisma.$disconnect();
  }
}
