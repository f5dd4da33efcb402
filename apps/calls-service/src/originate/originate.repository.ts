import { Inject, Injectable } from '@nestjs/common';
import { PRISMA, Prisma, PrismaClient } from '../infra/database';

export interface NewOriginateRequest {
  callId: string;
  accountId: number;
  userName: string;
  num: string;
  externalId: string | null;
}

/** `src`: the user's extension, as the adapter found it (the request does not know it before). */
export type OriginateOutcome = { status: 'queued'; actionId: string; src: string } | { status: 'rejected' | 'failed'; error: string };

@Injectable()
export class OriginateRepository {
  constructor(@Inject(PRISMA) private readonly prisma: PrismaClient) {}

  /** Stores the request; answers whether its call already has a record (its first events came first). */
  async create(db: Prisma.TransactionClient, r: NewOriginateRequest): Promise<boolean> {
    const [row] = await db.$queryRaw<Array<{ has_call: boolean }>>`
      INSERT INTO originate_requests (call_id, account_id, user_name, num, external_id)
      VALUES (${r.callId}::uuid, ${r.accountId}, ${r.userName}, ${r.num}, ${r.externalId})
      RETURNING EXISTS (SELECT 1 FROM calls WHERE call_id = ${r.callId}) AS has_call`;
    return row.has_call;
  }

  async settle(callId: string, outcome: OriginateOutcome): Promise<void> {
    await this.prisma.originateRequest.update({
      where: { callId },
      data: outcome.status === 'queued' ? { status: 'queued', actionId: outcome.actionId, src: outcome.src } : { status: outcome.status, error: outcome.error },
    });
  }
}
