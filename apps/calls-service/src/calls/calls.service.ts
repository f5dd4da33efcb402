import { Inject, Injectable } from '@nestjs/common';
import type { ActiveCall, CallsCompleteList, CompletedCall } from '@ringcloud/contracts-calls';
import type { Disposition } from '@ringcloud/contracts-telephony';
import { PbxClock } from '../time/pbx-clock';
import { CALLS_CONFIG, CallsConfig } from '../config/calls-config';
import { CallsRepository, CompletedCallRow } from './calls.repository';
import { provisionalDisposition } from './disposition';

/**
 * At most this many rows per answer: a NATS message is limited to 1 MB by default and a completed
 * call takes about 250 bytes of JSON. The newest rows are kept.
 */
export const MAX_LIST_ROWS = 3000;

/** Active and completed calls of an account, as v1 shows them. */
@Injectable()
export class CallsService {
  constructor(
    private readonly calls: CallsRepository,
    @Inject(PbxClock) private readonly clock: PbxClock,
    @Inject(CALLS_CONFIG) private readonly config: Pick<CallsConfig, 'cdrGraceMs'>,
  ) {}

  async active(accountId: number, now = new Date()): Promise<ActiveCall[]> {
    const rows = await this.calls.activeCalls(accountId, MAX_LIST_ROWS);
    return rows.map((r) => ({
      src: r.src,
      dst: r.dst,
      seconds: Math.max(0, Math.floor((now.getTime() - r.started_at.getTime()) / 1000)),
      status: 'current' as const,
    }));
  }

  async completed(req: CallsCompleteList.Request, now = new Date()): Promise<CompletedCall[]> {
    const since = new Date(now.getTime() - req.days * 86_400_000);
    const cdrDeadline = new Date(now.getTime() - this.config.cdrGraceMs);
    const rows = await this.calls.completedCalls(req.account_id, since, cdrDeadline, req.num ? numberVariants(req.num) : null, MAX_LIST_ROWS);
    return rows.map((row) => this.toCompletedCall(row));
  }

  private toCompletedCall(row: CompletedCallRow): CompletedCall {
    // Without a CDR (yet) the record is built from the call's events.
    const disposition = (row.disposition as Disposition | null) ?? provisionalDisposition({ bridgedAt: row.bridged_at, answeredAt: row.answered_at, endCause: row.end_cause });
    const duration = row.duration ?? Math.max(0, Math.round((row.ended_at.getTime() - row.started_at.getTime()) / 1000));
    return {
      status: 'complete',
      src: row.src,
      dst: row.dst,
      direction: row.direction as CompletedCall['direction'],
      call_start_time: this.clock.format(row.started_at),
      call_end_time: this.clock.format(row.ended_at),
      duration,
      disposition,
      rec_file: row.rec_file_name && row.rec_user ? `/v1/users/${row.rec_user}/records/${row.rec_file_name}` : null,
    };
  }
}

/** `+79101234567` and `79101234567` are the same number to a CRM: match either spelling. */
export function numberVariants(num: string): string[] {
  return num.startsWith('+') ? [num, num.slice(1)] : [num, `+${num}`];
}
