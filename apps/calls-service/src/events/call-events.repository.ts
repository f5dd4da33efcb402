import { Inject, Injectable } from '@nestjs/common';
import { OutboxSignal } from '@ringcloud/nest-outbox';
import { CrmAnnouncer } from '../crm/crm-announcer';
import { PRISMA, Prisma, PrismaClient } from '../infra/database';
import type { CallEvent } from './call-event';

type Tx = Prisma.TransactionClient;
type EventOf<T extends CallEvent['type']> = Extract<CallEvent, { type: T }>;

export interface BatchResult {
  applied: number;
  /** (call_id, seq) already applied earlier (redelivery, re-publication). */
  duplicates: number;
  /** Applied but without effect, with the reason (e.g. a recording no account can be found for). */
  ignored: Array<{ event: CallEvent; reason: string }>;
  /** Same (call_id, seq) seen earlier under another event_id: the publisher reused a sequence number. */
  seqReused: CallEvent[];
  /** CRM events written to the outbox. */
  announced: number;
}

/**
 * Applies telephony events to `calls` and `recordings`, a batch per transaction and one multi-row
 * statement per event type (a handful of round trips for a hundred events).
 *
 * Every upsert is commutative: fields fill from whichever event comes first, times take the
 * earliest (or latest) value, and once a CDR is in (`cdr_seq` set) its values win. So the result
 * depends neither on the order events arrive in, nor on which replica applies which, nor on the
 * order of the statements below.
 */
@Injectable()
export class CallEventsRepository {
  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    private readonly announcer: CrmAnnouncer,
    private readonly outboxSignal: OutboxSignal,
  ) {}

  /**
   * Applies `events` in one transaction; each (call_id, seq) takes effect once. The CRM events they
   * make due are written to the outbox in the same transaction.
   */
  async applyBatch(events: CallEvent[]): Promise<BatchResult> {
    const result = await this.prisma.$transaction((tx) => this.applyIn(tx, events), { maxWait: 10_000, timeout: 60_000 });
    if (result.announced) this.outboxSignal.eventsWritten();
    return result;
  }

  private async applyIn(tx: Tx, events: CallEvent[]): Promise<BatchResult> {
    await lockCalls(tx, events.map((e) => e.callId));
    const claimed = await this.claim(tx, events);
    const fresh: CallEvent[] = [];
    for (const event of events) {
      // The same (call_id, seq) twice in one batch: the first one counts.
      if (claimed.delete(keyOf(event))) fresh.push(event);
    }
    const result: BatchResult = { applied: fresh.length, duplicates: events.length - fresh.length, ignored: [], seqReused: [], announced: 0 };
    for (const round of rounds(fresh.filter(is('started')), (e) => e.callId)) await this.started(tx, round);
    for (const round of rounds(fresh.filter(is('ringing')), (e) => e.callId)) await this.ringing(tx, round);
    for (const round of rounds(fresh.filter(is('answered')), (e) => e.callId)) await this.answered(tx, round);
    for (const round of rounds(fresh.filter(is('bridged')), (e) => e.callId)) await this.bridged(tx, round);
    for (const round of rounds(fresh.filter(is('transferred')), (e) => e.callId)) await this.transferred(tx, round);
    for (const round of rounds(fresh.filter(is('ended')), (e) => e.callId)) await this.ended(tx, round);
    for (const round of rounds(fresh.filter(is('cdr')), (e) => e.callId)) await this.cdr(tx, round);
    for (const round of rounds(fresh.filter(is('recording')), (e) => e.fileName)) result.ignored.push(...(await this.recordings(tx, round)));
    if (result.duplicates) result.seqReused = await this.reusedSequences(tx, events);
    result.announced = await this.announcer.announce(tx, fresh.map((e) => e.callId));
    return result;
  }

  /** Records the batch's (call_id, seq) pairs in one statement; returns the ones not seen before. */
  private async claim(tx: Tx, events: CallEvent[]): Promise<Set<string>> {
    const rows = await tx.$queryRaw<Array<{ call_id: string; seq: number }>>`
      INSERT INTO processed_events (call_id, seq, event_id)
      SELECT * FROM unnest(${events.map((e) => e.callId)}::text[], ${events.map((e) => e.seq)}::int[], ${events.map((e) => e.eventId)}::text[])
      ON CONFLICT DO NOTHING
      RETURNING call_id, seq`;
    return new Set(rows.map((r) => `${r.call_id}\u0000${r.seq}`));
  }

  private async reusedSequences(tx: Tx, events: CallEvent[]): Promise<CallEvent[]> {
    const rows = await tx.$queryRaw<Array<{ call_id: string; seq: number; event_id: string }>>`
      SELECT call_id, seq, event_id FROM processed_events
      WHERE (call_id, seq) IN (SELECT * FROM unnest(${events.map((e) => e.callId)}::text[], ${events.map((e) => e.seq)}::int[]))`;
    const stored = new Map(rows.map((r) => [`${r.call_id}\u0000${r.seq}`, r.event_id]));
    return events.filter((e) => {
      const eventId = stored.get(keyOf(e));
      return eventId !== undefined && eventId !== e.eventId;
    });
  }

  private async started(tx: Tx, events: EventOf<'started'>[]): Promise<void> {
    await tx.$executeRaw`
      INSERT INTO calls (call_id, account_id, node, linkedid, direction, src, dst, user_name, started_at, started_seq, state)
      SELECT e.call_id, e.account_id, e.node, e.linkedid, e.direction, e.src, e.dst, e.user_name, e.at, e.seq, 'active'
      FROM unnest(${col(events, (e) => e.callId)}::text[], ${col(events, (e) => e.accountId)}::int[], ${col(events, (e) => e.node)}::text[],
                  ${col(events, (e) => e.linkedid)}::text[], ${col(events, (e) => e.direction)}::text[], ${col(events, (e) => e.src)}::text[],
                  ${col(events, (e) => e.dst)}::text[], ${col(events, (e) => e.user)}::text[], ${times(events, (e) => e.at)}::timestamptz[],
                  ${col(events, (e) => e.seq)}::int[])
        AS e(call_id, account_id, node, linkedid, direction, src, dst, user_name, at, seq)
      ON CONFLICT (call_id) DO UPDATE SET
        started_seq = LEAST(calls.started_seq, EXCLUDED.started_seq),
        account_id = COALESCE(calls.account_id, EXCLUDED.account_id),
        node = COALESCE(calls.node, EXCLUDED.node),
        linkedid = COALESCE(calls.linkedid, EXCLUDED.linkedid),
        direction = CASE WHEN calls.cdr_seq IS NULL THEN EXCLUDED.direction ELSE calls.direction END,
        src = CASE WHEN calls.cdr_seq IS NULL THEN EXCLUDED.src ELSE calls.src END,
        dst = CASE WHEN calls.cdr_seq IS NULL THEN EXCLUDED.dst ELSE calls.dst END,
        user_name = COALESCE(calls.user_name, EXCLUDED.user_name),
        started_at = CASE WHEN calls.cdr_seq IS NULL THEN LEAST(calls.started_at, EXCLUDED.started_at) ELSE calls.started_at END,
        updated_at = now()`;
  }

  /**
   * The first time each party began to ring. A ringing event's direction (the route the dial plan
   * took) and called number (an incoming call's extension that rings, where the started event had the
   * number dialled) correct the started event's guess until the CDR settles them; the user whose
   * phone rang files a call that had none yet (an incoming call, whose CDR may never come).
   */
  private async ringing(tx: Tx, events: EventOf<'ringing'>[]): Promise<void> {
    await tx.$executeRaw`
      INSERT INTO calls (call_id, account_id, node, direction, dst, user_name, ringing_user_at, ringing_customer_at)
      SELECT e.call_id, e.account_id, e.node, e.direction, e.dst, CASE WHEN e.party = 'user' THEN e.user_name END,
             CASE WHEN e.party = 'user' THEN e.at END, CASE WHEN e.party = 'customer' THEN e.at END
      FROM unnest(${col(events, (e) => e.callId)}::text[], ${col(events, (e) => e.accountId)}::int[], ${col(events, (e) => e.node)}::text[],
                  ${col(events, (e) => e.party)}::text[], ${col(events, (e) => e.direction)}::text[], ${col(events, (e) => e.dst)}::text[],
                  ${col(events, (e) => e.user)}::text[], ${times(events, (e) => e.at)}::timestamptz[])
        AS e(call_id, account_id, node, party, direction, dst, user_name, at)
      ON CONFLICT (call_id) DO UPDATE SET
        account_id = COALESCE(calls.account_id, EXCLUDED.account_id),
        node = COALESCE(calls.node, EXCLUDED.node),
        direction = CASE WHEN calls.cdr_seq IS NULL THEN COALESCE(EXCLUDED.direction, calls.direction) ELSE calls.direction END,
        dst = CASE WHEN calls.cdr_seq IS NULL THEN COALESCE(EXCLUDED.dst, calls.dst) ELSE calls.dst END,
        user_name = COALESCE(calls.user_name, EXCLUDED.user_name),
        ringing_user_at = LEAST(calls.ringing_user_at, EXCLUDED.ringing_user_at),
        ringing_customer_at = LEAST(calls.ringing_customer_at, EXCLUDED.ringing_customer_at),
        updated_at = now()`;
  }

  private async answered(tx: Tx, events: EventOf<'answered'>[]): Promise<void> {
    await tx.$executeRaw`
      INSERT INTO calls (call_id, account_id, node, answered_at)
      SELECT * FROM unnest(${col(events, (e) => e.callId)}::text[], ${col(events, (e) => e.accountId)}::int[], ${col(events, (e) => e.node)}::text[],
                           ${times(events, (e) => e.at)}::timestamptz[])
      ON CONFLICT (call_id) DO UPDATE SET
        account_id = COALESCE(calls.account_id, EXCLUDED.account_id),
        node = COALESCE(calls.node, EXCLUDED.node),
        answered_at = CASE WHEN calls.cdr_seq IS NULL THEN LEAST(calls.answered_at, EXCLUDED.answered_at) ELSE calls.answered_at END,
        updated_at = now()`;
  }

  private async bridged(tx: Tx, events: EventOf<'bridged'>[]): Promise<void> {
    await tx.$executeRaw`
      INSERT INTO calls (call_id, account_id, node, bridged_at)
      SELECT * FROM unnest(${col(events, (e) => e.callId)}::text[], ${col(events, (e) => e.accountId)}::int[], ${col(events, (e) => e.node)}::text[],
                           ${times(events, (e) => e.at)}::timestamptz[])
      ON CONFLICT (call_id) DO UPDATE SET
        account_id = COALESCE(calls.account_id, EXCLUDED.account_id),
        node = COALESCE(calls.node, EXCLUDED.node),
        bridged_at = LEAST(calls.bridged_at, EXCLUDED.bridged_at),
        updated_at = now()`;
  }

  /**
   * A call transferred on again keeps its latest transfer: whose phone and which extension took it
   * last; every colleague who took it is kept too (their recordings list shows the call's).
   */
  private async transferred(tx: Tx, events: EventOf<'transferred'>[]): Promise<void> {
    await tx.$executeRaw`
      INSERT INTO calls (call_id, account_id, node, transferred_at, transferred_to, transferred_to_num, transferred_users)
      SELECT t.*, CASE WHEN t.to_user IS NULL THEN ARRAY[]::text[] ELSE ARRAY[t.to_user] END
      FROM unnest(${col(events, (e) => e.callId)}::text[], ${col(events, (e) => e.accountId)}::int[], ${col(events, (e) => e.node)}::text[],
                  ${times(events, (e) => e.at)}::timestamptz[], ${col(events, (e) => e.toUser)}::text[], ${col(events, (e) => e.toNum)}::text[])
             AS t(call_id, account_id, node, at, to_user, to_num)
      ON CONFLICT (call_id) DO UPDATE SET
        transferred_users = CASE WHEN EXCLUDED.transferred_to IS NULL OR EXCLUDED.transferred_to = ANY(calls.transferred_users) THEN calls.transferred_users
                                 ELSE calls.transferred_users || EXCLUDED.transferred_to END,
        account_id = COALESCE(calls.account_id, EXCLUDED.account_id),
        node = COALESCE(calls.node, EXCLUDED.node),
        transferred_to = CASE WHEN calls.transferred_at IS NULL OR EXCLUDED.transferred_at >= calls.transferred_at THEN EXCLUDED.transferred_to ELSE calls.transferred_to END,
        transferred_to_num = CASE WHEN calls.transferred_at IS NULL OR EXCLUDED.transferred_at >= calls.transferred_at THEN EXCLUDED.transferred_to_num ELSE calls.transferred_to_num END,
        transferred_at = GREATEST(calls.transferred_at, EXCLUDED.transferred_at),
        updated_at = now()`;
  }

  /** A real hangup wins over an end found by a resync; between two of a kind, the earlier. */
  private async ended(tx: Tx, events: EventOf<'ended'>[]): Promise<void> {
    await tx.$executeRaw`
      INSERT INTO calls (call_id, account_id, node, ended_at, end_cause, end_cause_txt, reconciled, state)
      SELECT e.*, 'complete'
      FROM unnest(${col(events, (e) => e.callId)}::text[], ${col(events, (e) => e.accountId)}::int[], ${col(events, (e) => e.node)}::text[],
                  ${times(events, (e) => e.at)}::timestamptz[], ${col(events, (e) => e.cause)}::int[], ${col(events, (e) => e.causeTxt)}::text[],
                  ${col(events, (e) => e.reconciled)}::boolean[])
        AS e(call_id, account_id, node, ended_at, end_cause, end_cause_txt, reconciled)
      ON CONFLICT (call_id) DO UPDATE SET
        account_id = COALESCE(calls.account_id, EXCLUDED.account_id),
        node = COALESCE(calls.node, EXCLUDED.node),
        ended_at = CASE
          WHEN calls.cdr_seq IS NOT NULL THEN calls.ended_at
          WHEN calls.end_cause IS NULL OR (calls.reconciled AND NOT EXCLUDED.reconciled) THEN EXCLUDED.ended_at
          WHEN calls.reconciled = EXCLUDED.reconciled THEN LEAST(calls.ended_at, EXCLUDED.ended_at)
          ELSE calls.ended_at END,
        end_cause = CASE
          WHEN calls.end_cause IS NULL OR (calls.reconciled AND NOT EXCLUDED.reconciled) THEN EXCLUDED.end_cause
          WHEN calls.reconciled = EXCLUDED.reconciled AND calls.cdr_seq IS NULL AND EXCLUDED.ended_at < calls.ended_at THEN EXCLUDED.end_cause
          ELSE calls.end_cause END,
        end_cause_txt = CASE
          WHEN calls.end_cause IS NULL OR (calls.reconciled AND NOT EXCLUDED.reconciled) THEN EXCLUDED.end_cause_txt
          WHEN calls.reconciled = EXCLUDED.reconciled AND calls.cdr_seq IS NULL AND EXCLUDED.ended_at < calls.ended_at THEN EXCLUDED.end_cause_txt
          ELSE calls.end_cause_txt END,
        reconciled = calls.reconciled AND EXCLUDED.reconciled OR (calls.end_cause IS NULL AND EXCLUDED.reconciled),
        state = 'complete',
        updated_at = now()`;
  }

  /**
   * The first CDR replaces what the events said. Should a call bring several CDRs, the lowest seq
   * (the adapter saw it first: the originating channel's) names the parties; times widen; ANSWERED wins.
   */
  private async cdr(tx: Tx, events: EventOf<'cdr'>[]): Promise<void> {
    await tx.$executeRaw`
      INSERT INTO calls (call_id, account_id, node, direction, src, dst, user_name, started_at, answered_at, ended_at,
                         duration, billsec, disposition, cdr_seq, cdr_uniqueid, state)
      SELECT e.*, 'complete'
      FROM unnest(${col(events, (e) => e.callId)}::text[], ${col(events, (e) => e.accountId)}::int[], ${col(events, (e) => e.node)}::text[],
                  ${col(events, (e) => e.direction)}::text[], ${col(events, (e) => e.src)}::text[], ${col(events, (e) => e.dst)}::text[],
                  ${col(events, (e) => e.user)}::text[], ${times(events, (e) => e.startedAt)}::timestamptz[],
                  ${times(events, (e) => e.answeredAt)}::timestamptz[], ${times(events, (e) => e.endedAt)}::timestamptz[],
                  ${col(events, (e) => e.duration)}::int[], ${col(events, (e) => e.billsec)}::int[], ${col(events, (e) => e.disposition)}::text[],
                  ${col(events, (e) => e.seq)}::int[], ${col(events, (e) => e.uniqueid)}::text[])
        AS e(call_id, account_id, node, direction, src, dst, user_name, started_at, answered_at, ended_at, duration, billsec, disposition, cdr_seq, cdr_uniqueid)
      ON CONFLICT (call_id) DO UPDATE SET
        account_id = COALESCE(calls.account_id, EXCLUDED.account_id),
        node = COALESCE(calls.node, EXCLUDED.node),
        direction = CASE WHEN calls.cdr_seq IS NULL OR EXCLUDED.cdr_seq < calls.cdr_seq THEN EXCLUDED.direction ELSE calls.direction END,
        src = CASE WHEN calls.cdr_seq IS NULL OR EXCLUDED.cdr_seq < calls.cdr_seq THEN EXCLUDED.src ELSE calls.src END,
        dst = CASE WHEN calls.cdr_seq IS NULL OR EXCLUDED.cdr_seq < calls.cdr_seq THEN EXCLUDED.dst ELSE calls.dst END,
        user_name = CASE WHEN calls.cdr_seq IS NULL OR EXCLUDED.cdr_seq < calls.cdr_seq
          THEN COALESCE(EXCLUDED.user_name, calls.user_name) ELSE COALESCE(calls.user_name, EXCLUDED.user_name) END,
        started_at = CASE WHEN calls.cdr_seq IS NULL THEN EXCLUDED.started_at ELSE LEAST(calls.started_at, EXCLUDED.started_at) END,
        answered_at = CASE WHEN calls.cdr_seq IS NULL THEN EXCLUDED.answered_at ELSE LEAST(calls.answered_at, EXCLUDED.answered_at) END,
        ended_at = CASE WHEN calls.cdr_seq IS NULL THEN EXCLUDED.ended_at ELSE GREATEST(calls.ended_at, EXCLUDED.ended_at) END,
        duration = CASE WHEN calls.cdr_seq IS NULL THEN EXCLUDED.duration ELSE GREATEST(calls.duration, EXCLUDED.duration) END,
        billsec = CASE WHEN calls.cdr_seq IS NULL THEN EXCLUDED.billsec ELSE GREATEST(calls.billsec, EXCLUDED.billsec) END,
        disposition = CASE
          WHEN calls.cdr_seq IS NULL THEN EXCLUDED.disposition
          WHEN 'ANSWERED' IN (calls.disposition, EXCLUDED.disposition) THEN 'ANSWERED'
          WHEN EXCLUDED.cdr_seq < calls.cdr_seq THEN EXCLUDED.disposition
          ELSE calls.disposition END,
        cdr_uniqueid = CASE WHEN calls.cdr_seq IS NULL OR EXCLUDED.cdr_seq < calls.cdr_seq THEN EXCLUDED.cdr_uniqueid ELSE calls.cdr_uniqueid END,
        cdr_seq = LEAST(calls.cdr_seq, EXCLUDED.cdr_seq),
        state = 'complete',
        updated_at = now()`;
  }

  /**
   * Account and user may be missing from a recording event: the call (same call_id) may know them.
   * Without an account it cannot be filed (v1 reaches recordings only through an account) and is
   * ignored. The object store names objects `<account>/<file_name>`, so a second recording with
   * the same name replaced the first one there: the metadata follows.
   */
  private async recordings(tx: Tx, events: EventOf<'recording'>[]): Promise<Array<{ event: CallEvent; reason: string }>> {
    const stored = await tx.$queryRaw<Array<{ event_id: string }>>`
      INSERT INTO recordings (account_id, file_name, user_name, call_id, object_name, content_type, size, duration_s, recorded_at, event_id)
      SELECT COALESCE(e.account_id, c.account_id), e.file_name, COALESCE(e.user_name, c.user_name), e.call_id, e.object_name,
             e.content_type, e.size, e.duration_s, e.recorded_at, e.event_id
      FROM unnest(${col(events, (e) => e.accountId)}::int[], ${col(events, (e) => e.fileName)}::text[], ${col(events, (e) => e.user)}::text[],
                  ${col(events, (e) => e.callId)}::text[], ${col(events, (e) => e.objectName)}::text[], ${col(events, (e) => e.contentType)}::text[],
                  ${col(events, (e) => String(e.size))}::bigint[], ${col(events, (e) => e.durationS)}::float8[],
                  ${times(events, (e) => e.recordedAt)}::timestamptz[], ${col(events, (e) => e.eventId)}::text[])
        AS e(account_id, file_name, user_name, call_id, object_name, content_type, size, duration_s, recorded_at, event_id)
      LEFT JOIN calls c ON c.call_id = e.call_id
      WHERE COALESCE(e.account_id, c.account_id) IS NOT NULL
      ON CONFLICT (account_id, file_name) DO UPDATE SET
        user_name = COALESCE(EXCLUDED.user_name, recordings.user_name),
        call_id = EXCLUDED.call_id,
        object_name = EXCLUDED.object_name,
        content_type = EXCLUDED.content_type,
        size = EXCLUDED.size,
        duration_s = EXCLUDED.duration_s,
        recorded_at = EXCLUDED.recorded_at,
        event_id = EXCLUDED.event_id
      RETURNING event_id`;
    const storedIds = new Set(stored.map((r) => r.event_id));
    return events.filter((e) => !storedIds.has(e.eventId)).map((event) => ({ event, reason: 'recording of a call whose account is unknown' }));
  }
}

/**
 * Transaction-scoped advisory locks on these calls, taken in one sorted pass: two replicas whose
 * batches share calls wait for each other instead of deadlocking on row locks taken in different
 * orders. The two-key form keeps them apart from other lock users of the database (the first key
 * is this schema's). Everything that changes a call row or announces its CRM events takes them.
 */
export async function lockCalls(tx: Pick<Tx, '$queryRaw'>, callIds: string[]): Promise<void> {
  const ids = [...new Set(callIds)];
  await tx.$queryRaw`
    SELECT count(pg_advisory_xact_lock(hashtext(current_schema()), k))::int AS locked
    FROM (SELECT DISTINCT hashtext(id) AS k FROM unnest(${ids}::text[]) AS id ORDER BY 1) keys`;
}

const keyOf = (e: CallEvent) => `${e.callId}\u0000${e.seq}`;
const is =
  <T extends CallEvent['type']>(type: T) =>
  (e: CallEvent): e is EventOf<T> =>
    e.type === type;
const col = <E, V>(events: E[], pick: (e: E) => V): V[] => events.map(pick);
/** Instants travel as ISO strings: unambiguous whatever the session time zone. */
const times = <E>(events: E[], pick: (e: E) => Date | null): Array<string | null> => events.map((e) => pick(e)?.toISOString() ?? null);

/**
 * Splits events into rounds in which no key repeats: one upsert statement may not touch a row
 * twice. Usually a single round; a call's second CDR (say) goes to the next one, in batch order.
 */
export function rounds<E>(events: E[], key: (e: E) => string): E[][] {
  const out: Array<{ keys: Set<string>; events: E[] }> = [];
  for (const event of events) {
    const k = key(event);
    let round = out.find((r) => !r.keys.has(k));
    if (!round) out.push((round = { keys: new Set(), events: [] }));
    round.keys.add(k);
    round.events.push(event);
  }
  return out.map((r) => r.events);
}
