import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { Pool, QueryResultRow } from 'pg';
import { parseDatabaseUrl, quoteIdent } from '@ringcloud/nest-prisma';

/**
 * Plain `pg` for the hot path (ingest, claiming, attempts): a few hundred statements a second at
 * 200 events/s, where Prisma's per-query overhead was most of the service's CPU. Same database and
 * schema (search_path) as the PrismaClient, which keeps the CRUD side. Closed after the dispatcher
 * and the consumer have stopped (onApplicationShutdown runs after every beforeApplicationShutdown).
 */
@Injectable()
export class Sql implements OnApplicationShutdown {
  private readonly pool: Pool;

  constructor(databaseUrl: string, max = 10) {
    const { connectionString, schema } = parseDatabaseUrl(databaseUrl);
    this.pool = new Pool({ connectionString, max, connectionTimeoutMillis: 5000, options: `-c search_path=${quoteIdent(schema)}` });
    // An idle connection dropped by the server must not crash the process; the next query reconnects.
    this.pool.on('error', () => undefined);
  }

  async query<R extends QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
    return (await this.pool.query<R>(text, values)).rows;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}
