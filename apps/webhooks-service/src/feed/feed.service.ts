import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DomainError } from '@ringcloud/contracts-common';
import type { CrmEvent } from '@ringcloud/contracts-events';
import { WebhooksEventList } from '@ringcloud/contracts-webhooks';
import { WEBHOOKS_CONFIG, WebhooksConfig } from '../config/webhooks-config';
import { PRISMA, PrismaClient } from '../infra/database';

const PRUNE_EVERY_MS = 3600_000;
const DELETE_CHUNK = 5000;

/**
 * The event feed (`GET /v1/events`): an account's events in the order stored, kept for
 * WEBHOOKS_EVENT_RETENTION_HOURS, then pruned (with their deliveries) hourly in small chunks.
 */
@Injectable()
export class FeedService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Feed');
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    @Inject(WEBHOOKS_CONFIG) private readonly config: WebhooksConfig,
  ) {}

  onApplicationBootstrap(): void {
    void this.prune();
    this.timer = setInterval(() => void this.prune(), PRUNE_EVERY_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  async list(req: WebhooksEventList.Request): Promise<WebhooksEventList.Response> {
    let afterSeq = 0n;
    if (req.after) {
      const cursor = await this.prisma.event.findFirst({
        where: { id: req.after, accountId: req.account_id, createdAt: { gte: this.oldestKept() } },
        select: { seq: true },
      });
      if (!cursor) throw DomainError.badRequest(`after: unknown or expired event id (events are kept ${this.config.retentionMs / 3600_000} hours)`);
      afterSeq = cursor.seq;
    }
    // One more than asked: tells whether more follow.
    const rows = await this.prisma.event.findMany({
      where: { accountId: req.account_id, seq: { gt: afterSeq }, createdAt: { gte: this.oldestKept() } },
      orderBy: { seq: 'asc' },
      take: req.limit + 1,
      select: { id: true, body: true },
    });
    const page = rows.slice(0, req.limit);
    return {
      events: page.map((row) => JSON.parse(row.body) as CrmEvent),
      next_cursor: rows.length > req.limit ? page[page.length - 1].id : null,
    };
  }

  async prune(): Promise<number> {
    let total = 0;
    try {
      for (;;) {
        const deleted = await this.prisma.$executeRaw`
          DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE created_at < ${this.oldestKept()} ORDER BY seq LIMIT ${DELETE_CHUNK})`;
        total += deleted;
        if (deleted < DELETE_CHUNK) break;
      }
      if (total) this.logger.log(`pruned ${total} events older than the retention`);
    } catch (err) {
      this.logger.warn(`pruning events failed: ${(err as Error).message}`);
    }
    return total;
  }

  private oldestKept(): Date {
    return new Date(Date.now() - this.config.retentionMs);
  }
}
