import { Inject, Injectable } from '@nestjs/common';
import { crmEventSubject } from '@ringcloud/contracts-events';
import { OutboxMessage, OutboxStore, outboxIdFor } from '@ringcloud/nest-outbox';
import { CallsRepository } from '../calls/calls.repository';
import { CALLS_CONFIG, CallsConfig } from '../config/calls-config';
import { Prisma } from '../infra/database';
import { PbxClock } from '../time/pbx-clock';
import { dueAnnouncements } from './crm-stages';

type Tx = Prisma.TransactionClient;

/** Missing telephony events of a call are waited for this long: a redelivery comes after ack_wait. */
export const holdMs = (config: Pick<CallsConfig, 'consumer'>) => 2 * config.consumer.ackWaitMs;

/**
 * Turns what is known about calls into CRM events (crm-stages.ts) inside the transaction that
 * learnt it: each event is an outbox row (published to CRM_EVENTS by the relay) and the call row
 * remembers what was announced and the next sequence, so a redelivered telephony event, a second
 * replica or a restart never announces a stage twice, and nothing committed is lost.
 * The caller must hold the calls' advisory locks (see CallEventsRepository.lockCalls).
 */
@Injectable()
export class CrmAnnouncer {
  constructor(
    private readonly calls: CallsRepository,
    private readonly outbox: OutboxStore,
    @Inject(PbxClock) private readonly clock: PbxClock,
    @Inject(CALLS_CONFIG) private readonly config: Pick<CallsConfig, 'cdrGraceMs' | 'consumer'>,
  ) {}

  /** Announces what became due for these calls; returns how many events were written. */
  async announce(tx: Tx, callIds: string[], now = new Date()): Promise<number> {
    if (!callIds.length) return 0;
    const snapshots = await this.calls.snapshots([...new Set(callIds)], tx);
    const messages: OutboxMessage[] = [];
    const progress: Array<{ callId: string; stages: string }> = [];
    for (const snapshot of snapshots) {
      const due = dueAnnouncements(snapshot, { clock: this.clock, now, cdrGraceMs: this.config.cdrGraceMs, holdMs: holdMs(this.config) });
      if (!due.length) continue;
      for (const { factId, event } of due) messages.push({ id: outboxIdFor(factId), subject: crmEventSubject(event.account_id), payload: event });
      progress.push({ callId: snapshot.call_id, stages: due.map((d) => d.stage).join(',') });
    }
    if (!messages.length) return 0;
    const written = await this.outbox.appendAll(tx, messages);
    // One statement for every call of the batch: stages appended in order, the sequence moved past them.
    await tx.$executeRaw`
      UPDATE calls SET crm_announced = COALESCE(calls.crm_announced, ARRAY[]::text[]) || string_to_array(p.stages, ','),
                       crm_next_seq = calls.crm_next_seq + cardinality(string_to_array(p.stages, ','))
      FROM unnest(${progress.map((p) => p.callId)}::text[], ${progress.map((p) => p.stages)}::text[]) AS p(call_id, stages)
      WHERE calls.call_id = p.call_id`;
    return written;
  }
}
