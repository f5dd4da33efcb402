import { Logger, OnApplicationShutdown } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/nats-core';
import { DomainError } from '@ringcloud/contracts-common';
import { drainOrClose } from '@ringcloud/nest-nats';

/** What ConnectionResources needs of a PrismaClient. */
export interface PrismaConnection {
  $queryRaw(query: TemplateStringsArray, ...values: unknown[]): PromiseLike<unknown>;
  $disconnect(): Promise<void>;
}

/**
 * Owns a service's connections: checks the database for health pings, and closes the plain NATS
 * connection and PostgreSQL last on shutdown (after consumers stopped in beforeApplicationShutdown).
 * Each service subclasses it as an @Injectable with its own injection tokens.
 */
export abstract class ConnectionResources implements OnApplicationShutdown {
  private readonly logger = new Logger('Resources');

  protected constructor(
    private readonly prisma: PrismaConnection,
    private readonly nc: NatsConnection,
    private readonly unavailableMessage: string,
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
      throw DomainError.unavailable(this.unavailableMessage);
    } finally {
      clearTimeout(timer);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    if (!(await drainOrClose(this.nc))) this.logger.warn('NATS did not drain (the server is away?): connection closed');
    await this.prisma.$disconnect();
  }
}
