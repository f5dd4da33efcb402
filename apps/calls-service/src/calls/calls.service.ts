import { Inject, Injectable } from '@nestjs/common';
import { DomainError, Page, PageRequest, cursorAfter, encodeCursor } from '@ringcloud/contracts-common';
import { COMPLETED_LIST_MAX, type ActiveCall, type OpenCall, type CallDetails, type CallsCompleteList, type CallsCompletePage, type CompletedCall } from '@ringcloud/contracts-calls';
import { PbxClock } from '../time/pbx-clock';
import { CALLS_CONFIG, CallsConfig } from '../config/calls-config';
import { CallsRepository, CompletedKey } from './calls.repository';
import { toCallDetails, toCompletedCall } from './call-snapshot';
import { canonicalCallId } from './originated-call-id';

/**
 * At most this many rows per answer (v1's cap), the newest kept. A NATS message is limited to 1 MB
 * by default and a completed call takes 250–400 bytes of JSON (call_id, external_id): 3,000 may not
 * fit, so the gateway reads the v1 list by `calls.complete.list_page`, 1,000 at a time.
 */
export const MAX_LIST_ROWS = COMPLETED_LIST_MAX;

/** Active and completed calls of an account, as v1 shows them. */
@Injectable()
export class CallsService {
  constructor(
    private readonly calls: CallsRepository,
    @Inject(PbxClock) private readonly clock: PbxClock,
    @Inject(CALLS_CONFIG) private readonly config: Pick<CallsConfig, 'cdrGraceMs'>,
  ) {}

  openOnNode(node: string): Promise<OpenCall[]> {
    return this.calls.openOnNode(node);
  }

  async active(accountId: number, now = new Date()): Promise<ActiveCall[]> {
    const rows = await this.calls.activeCalls(accountId, MAX_LIST_ROWS);
    return rows.map((r) => ({
      src: r.src,
      dst: r.dst,
      seconds: Math.max(0, Math.floor((now.getTime() - r.started_at.getTime()) / 1000)),
      status: 'current' as const,
      call_id: r.call_id,
      external_id: r.external_id,
    }));
  }

  /** One call of the account, in whatever state; another account's call is as unknown as a made-up id. */
  async get(accountId: number, callId: string): Promise<CallDetails> {
    const [snapshot] = await this.calls.snapshots([canonicalCallId(callId)]);
    if (!snapshot || snapshot.account_id !== accountId) throw DomainError.notFound('Call not found');
    return toCallDetails(snapshot, this.clock);
  }

  async completed(req: CallsCompleteList.Request, now = new Date()): Promise<CompletedCall[]> {
    const since = new Date(now.getTime() - req.days * 86_400_000);
    const cdrDeadline = new Date(now.getTime() - this.config.cdrGraceMs);
    const rows = await this.calls.completedCalls(req.account_id, since, cdrDeadline, req.num ? numberVariants(req.num) : null, MAX_LIST_ROWS);
    return rows.map((row) => toCompletedCall(row, this.clock));
  }

  /**
   * One page of `completed`, in the same order, keyed by (end, start, call_id) in the cursor: calls
   * that complete meanwhile land on pages already read (newest first) and shift nothing. Pages are
   * not capped like the v1 list: every call of the period can be read page by page.
   */
  async completedPage(req: CallsCompletePage.Request, now = new Date()): Promise<Page<CompletedCall>> {
    const since = new Date(now.getTime() - req.days * 86_400_000);
    const cdrDeadline = new Date(now.getTime() - this.config.cdrGraceMs);
    const after = completedKeyOf(req.page);
    const nums = req.num ? numberVariants(req.num) : null;
    const rows = await this.calls.completedCalls(req.account_id, since, cdrDeadline, nums, req.page.limit + 1, after);
    const items = rows.slice(0, req.page.limit);
    const last = items[items.length - 1];
    const next_cursor = rows.length > req.page.limit ? encodeCursor([last.ended_at.getTime(), last.started_at.getTime(), last.call_id]) : null;
    return { items: items.map((row) => toCompletedCall(row, this.clock)), next_cursor };
  }
}

/** The completed list's sort key in a cursor: (ended_at, started_at) as epoch ms, then the call id. */
function completedKeyOf(page: PageRequest): CompletedKey | undefined {
  const key = cursorAfter(page, ['timestamp', 'timestamp', 'string']) as [number, number, string] | undefined;
  return key && { endedAt: new Date(key[0]), startedAt: new Date(key[1]), callId: key[2] };
}

/** `+79101234567` and `79101234567` are the same number to a CRM: match either spelling. */
export function numberVariants(num: string): string[] {
  return num.startsWith('+') ? [num, num.slice(1)] : [num, `+${num}`];
}
