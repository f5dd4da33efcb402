import { Inject, Injectable } from '@nestjs/common';
import { OutboxSignal } from '@ringcloud/nest-outbox';
import { lockCalls } from '../events/call-events.repository';
import { PRISMA, Prisma, PrismaClient } from '../infra/database';
import { CrmAnnouncer } from './crm-announcer';

/**
 * Announces what is due for some calls outside the event consumer — when time passes (the
 * completion sweep) or when an originate request is stored after its call's first events — in a
 * transaction of its own under the calls' locks, then wakes the outbox relay.
 */
type Tx = Prisma.TransactionClient;

@Injectable()
export class AnnounceNow {
  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    private readonly announcer: CrmAnnouncer,
    private readonly outboxSignal: OutboxSignal,
  ) {}

  /** Returns how many events were written. */
  calls(callIds: string[], now = new Date()): Promise<number> {
    return this.afterChange(callIds, async () => true, now);
  }

  /**
   * Runs `change` under the calls' locks and, when it answers true, announces what became due for
   * them, in one transaction: an event consumer holding a lock on them is waited for, and nothing it
   * commits can fall between the change and the announcement. Returns how many events were written.
   */
  async afterChange(callIds: string[], change: (tx: Tx) => Promise<boolean>, now = new Date()): Promise<number> {
    const written = await this.prisma.$transaction(async (tx) => {
      await lockCalls(tx, callIds);
      return (await change(tx)) ? this.announcer.announce(tx, callIds, now) : 0;
    });
    if (written) this.outboxSignal.eventsWritten();
    return written;
  }
}
