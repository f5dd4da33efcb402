import { Inject, Injectable } from '@nestjs/common';
import { OutboxSignal } from '@ringcloud/nest-outbox';
import { lockCalls } from '../events/call-events.repository';
import { PRISMA, PrismaClient } from '../infra/database';
import { CrmAnnouncer } from './crm-announcer';

/**
 * Announces what is due for some calls outside the event consumer — when time passes (the
 * completion sweep) or when an originate request is stored after its call's first events — in a
 * transaction of its own under the calls' locks, then wakes the outbox relay.
 */
@Injectable()
export class AnnounceNow {
  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    private readonly announcer: CrmAnnouncer,
    private readonly outboxSignal: OutboxSignal,
  ) {}

  /** Returns how many events were written. */
  async calls(callIds: string[], now = new Date()): Promise<number> {
    const written = await this.prisma.$transaction(async (tx) => {
      await lockCalls(tx, callIds);
      return this.announcer.announce(tx, callIds, now);
    });
    if (written) this.outboxSignal.eventsWritten();
    return written;
  }
}
