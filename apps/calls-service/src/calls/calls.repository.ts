import { Inject, Injectable } from '@nestjs/common';
import { dialledDirection } from '@ringcloud/contracts-telephony';
import type { OpenCall } from '@ringcloud/contracts-calls';
import { ORIGINATED_CALL_ID_PATTERN } from './originated-call-id';
import { PRISMA, Prisma, PrismaClient } from '../infra/database';
import type { CallSnapshot } from './call-snapshot';
import { hasAudio } from '../recordings/recordings.repository';

export interface ActiveCallRow {
  call_id: string;
  external_id: string | null;
  src: string;
  dst: string;
  started_at: Date;
}

/** Where a page of completed calls ends: the last row's sort key. */
export interface CompletedKey {
  endedAt: Date;
  startedAt: Date;
  callId: string;
}

type Sql = Pick<Prisma.TransactionClient, '$queryRaw'>;

/** A timestamptz as an ISO 8601 string in UTC (a contract's field; a Date would not survive validation). */
const iso = (column: Prisma.Sql) => Prisma.sql`to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * The originate request of a call: calls the API started carry its UUID as their call_id; others
 * (`<node>:<linkedid>`) have none. CASE keeps the cast from ever seeing a non-UUID.
 */
const originateOf = (callId: Prisma.Sql) => Prisma.sql`(CASE WHEN ${callId} ~* ${ORIGINATED_CALL_ID_PATTERN} THEN ${callId}::uuid END)`;

/** The call's recording as v1 shows it: the first one with audio, filed under its own user or the call's. */
const firstRecording = (alias: Prisma.Sql) => Prisma.sql`
  LEFT JOIN LATERAL (
    SELECT file_name, user_name FROM recordings
    WHERE recordings.call_id = ${alias}.call_id AND recordings.account_id = ${alias}.account_id AND ${hasAudio(Prisma.sql`recordings`)}
    ORDER BY recorded_at, file_name
    LIMIT 1
  ) r ON true`;

export interface CompletedCallRow {
  call_id: string;
  external_id: string | null;
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
  /** The colleague the call was last transferred to. */
  transferred_to: string | null;
}

/** Reads of the `calls` table. Rows still missing their parties (events that overtook `started`) are not shown. */
@Injectable()
export class CallsRepository {
  constructor(@Inject(PRISMA) private readonly prisma: PrismaClient) {}

  activeCalls(accountId: number, limit: number): Promise<ActiveCallRow[]> {
    return this.prisma.$queryRaw<ActiveCallRow[]>`
      SELECT c.call_id, o.external_id, c.src, c.dst, c.started_at FROM calls c
      LEFT JOIN originate_requests o ON o.call_id = ${originateOf(Prisma.sql`c.call_id`)}
      WHERE c.account_id = ${accountId} AND c.state = 'active'
        AND c.started_at IS NOT NULL AND c.src IS NOT NULL AND c.dst IS NOT NULL
      ORDER BY c.started_at DESC, c.call_id
      LIMIT ${limit}`;
  }

  /** Every call of a PBX node still active (whatever its parties), for the node's adapter to reconcile. */
  openOnNode(node: string): Promise<OpenCall[]> {
    return this.prisma.$queryRaw`
      SELECT call_id, account_id, linkedid, direction, src, dst, user_name AS "user", transferred_at IS NOT NULL AS transferred,
             ${iso(Prisma.sql`started_at`)} AS started_at, ${iso(Prisma.sql`answered_at`)} AS answered_at
      FROM calls WHERE node = ${node} AND state = 'active' ORDER BY call_id`;
  }

  /**
   * What is known about these calls (see CallSnapshot), calls and originate requests alike; ids
   * that are neither are left out. `db` may be a transaction holding the calls' locks.
   */
  async snapshots(ids: string[], db: Sql = this.prisma): Promise<CallSnapshot[]> {
    const rows = await db.$queryRaw<Array<CallSnapshot & { requested_num: string | null }>>`
      SELECT ids.id AS call_id, COALESCE(c.account_id, o.account_id) AS account_id, c.call_id IS NOT NULL AS has_call,
             c.direction, o.num AS requested_num,
             COALESCE(c.src, o.src) AS src, COALESCE(c.dst, o.num) AS dst, COALESCE(c.user_name, o.user_name) AS user_name,
             c.started_at, c.ringing_user_at, c.ringing_customer_at, c.transferred_at, c.transferred_to, c.transferred_to_num, c.answered_at, c.bridged_at, c.ended_at, c.end_cause,
             c.end_cause_txt, COALESCE(c.reconciled, false) AS reconciled, c.duration, c.disposition, c.state, c.cdr_seq,
             COALESCE(c.crm_announced, ARRAY[]::text[]) AS crm_announced, COALESCE(c.crm_next_seq, 0) AS crm_next_seq,
             o.external_id, o.created_at AS requested_at, o.status::text AS request_status, o.error AS request_error,
             r.file_name AS rec_file_name, COALESCE(r.user_name, c.user_name) AS rec_user,
             c.updated_at AS last_event_at,
             c.started_seq IS NOT NULL AND (
               SELECT count(*) = max(p.seq) - c.started_seq + 1 FROM processed_events p WHERE p.call_id = c.call_id AND p.seq >= c.started_seq
             ) AS events_complete
      FROM unnest(${ids}::text[]) AS ids(id)
      LEFT JOIN calls c ON c.call_id = ids.id
      LEFT JOIN originate_requests o ON o.call_id = ${originateOf(Prisma.sql`ids.id`)}
      ${firstRecording(Prisma.sql`c`)}
      WHERE c.call_id IS NOT NULL OR o.call_id IS NOT NULL`;
    // Before its first PBX event an originate's direction is the one its number will give it.
    return rows.map(({ requested_num, ...s }) => ({ ...s, direction: s.direction ?? (requested_num === null ? null : dialledDirection(requested_num)) }));
  }

  /**
   * Completed calls that ended at or after `since`, newest end first; `nums` match src or dst. A call
   * shows once its CDR is in, or its end was found by a resync, or it ended before `cdrDeadline`.
   */
  completedCalls(accountId: number, since: Date, cdrDeadline: Date, nums: string[] | null, limit: number, after?: CompletedKey): Promise<CompletedCallRow[]> {
    const numFilter = nums ? Prisma.sql`AND (c.src = ANY(${nums}::text[]) OR c.dst = ANY(${nums}::text[]))` : Prisma.empty;
    // Keyset: the rows after `after` in the list's order (ended_at DESC, started_at DESC, call_id).
    const afterFilter = after
      ? Prisma.sql`AND (c.ended_at < ${after.endedAt} OR (c.ended_at = ${after.endedAt}
          AND (c.started_at < ${after.startedAt} OR (c.started_at = ${after.startedAt} AND c.call_id > ${after.callId}))))`
      : Prisma.empty;
    return this.prisma.$queryRaw<CompletedCallRow[]>`
      SELECT c.call_id, o.external_id, c.direction, c.src, c.dst, c.started_at, c.answered_at, c.bridged_at, c.ended_at, c.end_cause,
             c.duration, c.disposition, r.file_name AS rec_file_name, COALESCE(r.user_name, c.user_name) AS rec_user, c.transferred_to
      FROM calls c
      LEFT JOIN originate_requests o ON o.call_id = ${originateOf(Prisma.sql`c.call_id`)}
      ${firstRecording(Prisma.sql`c`)}
      WHERE c.account_id = ${accountId} AND c.state = 'complete' AND c.ended_at >= ${since}
        AND (c.cdr_seq IS NOT NULL OR c.reconciled OR c.ended_at < ${cdrDeadline})
        AND c.started_at IS NOT NULL AND c.src IS NOT NULL AND c.dst IS NOT NULL AND c.direction IS NOT NULL
        ${numFilter}
        ${afterFilter}
      ORDER BY c.ended_at DESC, c.started_at DESC, c.call_id
      LIMIT ${limit}`;
  }
}
