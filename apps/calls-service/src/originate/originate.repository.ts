import { Injectable } from '@nestjs/common';
import { Prisma } from '../infra/database';

/** One `POST /v1/calls` with what became of it. */
export interface OriginateRecord {
  callId: string;
  accountId: number;
  userName: string;
  num: string;
  externalId: string | null;
  outcome: OriginateOutcome;
  /** When the client asked (the gateway's clock); absent: now. */
  requestedAt?: Date;
}

/** `src`: the user's extension, as the adapter found it (the request does not know it before). */
export type OriginateOutcome = { status: 'queued'; actionId: string; src: string } | { status: 'rejected' | 'failed'; error: string };

@Injectable()
export class OriginateRepository {
  /**
   * Stores the request with its outcome (one statement); answers whether its call already has a
   * record (its first events came first). A call_id stored already is left as it is — a retried
   * record of the same request — except a refusal followed by a queued outcome: an idempotent retry
   * (same call_id) reached the adapter, or found the call the first attempt placed after the gateway
   * had given up, so the call exists after all.
   */
  async create(db: Prisma.TransactionClient, r: OriginateRecord): Promise<boolean> {
    const o = r.outcome;
    const [queued, error] = o.status === 'queued' ? [o, null] : [null, o.error];
    const [row] = await db.$queryRaw<Array<{ has_call: boolean }>>`
      INSERT INTO originate_requests (call_id, account_id, user_name, num, external_id, status, action_id, src, error, created_at)
      VALUES (${r.callId}::uuid, ${r.accountId}, ${r.userName}, ${r.num}, ${r.externalId},
              ${o.status}::"OriginateStatus", ${queued?.actionId ?? null}, ${queued?.src ?? null}, ${error},
              LEAST(COALESCE(${r.requestedAt ?? null}::timestamptz, now()), now()))
      ON CONFLICT (call_id) DO UPDATE
        SET status = EXCLUDED.status, action_id = EXCLUDED.action_id, src = EXCLUDED.src, error = NULL, updated_at = now()
        WHERE EXCLUDED.status = 'queued' AND originate_requests.status <> 'queued'
      RETURNING EXISTS (SELECT 1 FROM calls WHERE call_id = ${r.callId}) AS has_call`;
    return row?.has_call ?? false;
  }
}
