import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { CALLS_CONFIG, CallsConfig } from '../config/calls-config';
import { PRISMA, PrismaClient } from '../infra/database';
import { isDatabaseUnavailable } from '../infra/prisma-errors';
import { AnnounceNow } from './announce-now';
import { holdMs } from './crm-announcer';

const BATCH = 200;
const MAX_ROUNDS = 20;
/**
 * Calls that ended longer ago than this are not swept any more: their grace and hold are long over,
 * and one whose events come late (calls-service was down) is announced by the consumer on arrival.
 */
const HORIZON_MS = 3600_000;

/**
 * Announcements that become due by the passing of time rather than by an event: a call whose CDR
 * never comes is listed as completed once CALLS_CDR_GRACE_MS has passed after its end (see
 * CallsRepository.completedCalls), and a call held for a missing telephony event (crm-stages.ts) is
 * announced without it once the hold is over. No event marks either moment, so this sweep looks at
 * ended calls whose completion was not announced yet. Any replica may sweep: the calls' advisory
 * locks and the announced stages make a second sweep of the same call a no-op.
 */
@Injectable()
export class CompletionSweeper implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('CompletionSweeper');
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private failing = false;

  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    private readonly announceNow: AnnounceNow,
    @Inject(CALLS_CONFIG) private readonly config: Pick<CallsConfig, 'cdrGraceMs' | 'consumer'>,
  ) {}

  onApplicationBootstrap(): void {
    const every = Math.min(5000, Math.max(500, Math.floor(this.config.cdrGraceMs / 4)));
    this.timer = setInterval(() => {
      this.running ??= this.sweep()
        .catch((err) => this.failed(err))
        .finally(() => (this.running = undefined));
    }, every);
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** Announces what became due by the passing of time; returns how many events were written. */
  async sweep(now = new Date()): Promise<number> {
    const deadline = new Date(now.getTime() - Math.min(this.config.cdrGraceMs, holdMs(this.config)));
    const horizon = new Date(now.getTime() - HORIZON_MS);
    let total = 0;
    let after = horizon;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const due = await this.prisma.$queryRaw<Array<{ call_id: string; ended_at: Date }>>`
        SELECT call_id, ended_at FROM calls
        WHERE state = 'complete' AND account_id IS NOT NULL
          AND started_at IS NOT NULL AND src IS NOT NULL AND dst IS NOT NULL AND direction IS NOT NULL
          AND ended_at < ${deadline} AND ended_at > ${after}
          AND NOT (COALESCE(crm_announced, ARRAY[]::text[]) && ARRAY['completed', 'recording', 'legacy'])
        ORDER BY ended_at
        LIMIT ${BATCH}`;
      if (!due.length) break;
      total += await this.announceNow.calls(due.map((r) => r.call_id), now);
      // Calls still held (or waiting for their CDR) stay behind: go on after them.
      after = due[due.length - 1].ended_at;
      if (due.length < BATCH) break;
    }
    if (this.failing) this.logger.log('sweeping completed calls again');
    this.failing = false;
    return total;
  }

  private failed(err: unknown): void {
    if (!this.failing) this.logger.warn(`cannot sweep completed calls yet: ${isDatabaseUnavailable(err) ? 'database unavailable' : (err as Error).message}`);
    this.failing = true;
  }
}
