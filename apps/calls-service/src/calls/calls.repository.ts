import { Inject, Injectable } from '@nestjs/common';
import { PRISMA, Prisma, PrismaClient } from '../infra/database';

export interface ActiveCallRow {
  src: string;
  dst: string;
  started_at: Date;
}

export interface CompletedCallRow {
  call_id: string;
  direction: string;
  src: string;
  dst: string;
  started_at: Date;
  answered_at: Date | null;
  bridged_at: Date | null;
  ended_at: Date;
  end_cause: number | null;
  duration: number | null;
  disposition: string | null;
  /** Recording of this call, and the user it is filed under (the recording's, else the call's). */
  rec_file_name: string | null;
  rec_user: string | null;
}

/** Reads of the `calls` table. Rows still missing their parties (events that overtook `started`) are not shown. */
@Injectable()
export class CallsRepository {
  constructor(@Inject(PRISMA) private readonly prisma: PrismaClient) {}

  activeCalls(accountId: number, limit: number): Promise<ActiveCallRow[]> {
    return this.prisma.$queryRaw<ActiveCallRow[]>`
      SELECT src, dst, started_at FROM calls
      WHERE account_id = ${accountId} AND state = 'active'
        AND started_at IS NOT NULL AND src IS NOT NULL AND dst IS NOT NULL
      ORDER BY started_at DESC, call_id
      LIMIT ${limit}`;
  }

  /**
   * Completed calls that ended at or after `since`, newest end first; `nums` match src or dst. A call
   * shows once its CDR is in, or its end was found by a resync, or it ended before `cdrDeadline`.
   */
  completedCalls(accountId: number, since: Date, cdrDeadline: Date, nums: string[] | null, limit: number): Promise<CompletedCallRow[]> {
    const numFilter = nums ? Prisma.sql`AND (c.src = ANY(${nums}::text[]) OR c.dst = ANY(${nums}::text[]))` : Prisma.empty;
    return this.prisma.$queryRaw<CompletedCallRow[]>`
      SELECT c.call_id, c.direction, c.src, c.dst, c.started_at, c.answered_at, c.bridged_at, c.ended_at, c.end_cause,
             c.duration, c.disposition, r.file_name AS rec_file_name, COALESCE(r.user_name, c.user_name) AS rec_user
      FROM calls c
      LEFT JOIN LATERAL (
        SELECT file_name, user_name FROM recordings
        WHERE recordings.call_id = c.call_id AND recordings.account_id = c.account_id
        ORDER BY recorded_at, file_name
        LIMIT 1
      ) r ON true
      WHERE c.account_id = ${accountId} AND c.state = 'complete' AND c.ended_at >= ${since}
        AND (c.cdr_seq IS NOT NULL OR c.reconciled OR c.ended_at < ${cdrDeadline})
        AND c.started_at IS NOT NULL AND c.src IS NOT NULL AND c.dst IS NOT NULL AND c.direction IS NOT NULL
        ${numFilter}
      ORDER BY c.ended_at DESC, c.started_at DESC, c.call_id
      LIMIT ${limit}`;
  }
}
