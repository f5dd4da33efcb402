import { Inject, Injectable, Logger } from '@nestjs/common';
import { PRISMA, PrismaClient } from '../infra/database';

const PRUNE_EVERY_MS = 3600_000;
const DELETE_CHUNK = 10_000;

/**
 * `processed_events` only has to remember what JetStream could still redeliver: rows older than
 * the stream's retention (plus a day) are deleted, hourly, in small chunks. Replicas may run it
 * concurrently; the deletes do not conflict with anything that matters.
 */
@Injectable()
export class ProcessedEventsPruner {
  private readonly logger = new Logger('ProcessedEventsPruner');
  private timer?: NodeJS.Timeout;

  constructor(@Inject(PRISMA) private readonly prisma: PrismaClient) {}

  /** `retentionMs` 0 means the stream keeps messages forever: nothing may be forgotten. */
  start(retentionMs: number): void {
    this.stop();
    if (retentionMs <= 0) return;
    this.timer = setInterval(() => void this.prune(retentionMs + 86_400_000), PRUNE_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  async prune(olderThanMs: number): Promise<number> {
    const before = new Date(Date.now() - olderThanMs);
    let total = 0;
    try {
      for (;;) {
        const deleted = await this.prisma.$executeRaw`
          DELETE FROM processed_events WHERE ctid IN (SELECT ctid FROM processed_events WHERE processed_at < ${before} LIMIT ${DELETE_CHUNK})`;
        total += deleted;
        if (deleted < DELETE_CHUNK) break;
      }
    } catch (err) {
      this.logger.warn(`pruning processed events failed: ${(err as Error).message}`);
    }
    return total;
  }
}
