import { OriginateIntent } from '../calls/call-normaliser';
import { OriginateLedger } from '../calls/pbx-event-pipeline';
import { PrismaClient } from '../infra/database';

/** originate_requests: what was sent, by ActionID and by call id, and what Asterisk answered. */
export class OriginateRepository implements OriginateLedger {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly node: string,
  ) {}

  async save(intent: OriginateIntent): Promise<void> {
    await this.prisma.originateRequest.create({
      data: {
        actionId: intent.actionId,
        callId: intent.callId,
        node: this.node,
        accountId: intent.accountId,
        user: intent.user,
        num: intent.num,
        src: intent.src,
        createdAt: new Date(intent.at),
      },
    });
  }

  async delete(actionId: string): Promise<void> {
    await this.prisma.originateRequest.deleteMany({ where: { actionId } });
  }

  async findByCallId(callId: string): Promise<{ actionId: string; accountId: number; src: string } | undefined> {
    return (await this.prisma.originateRequest.findUnique({ where: { callId }, select: { actionId: true, accountId: true, src: true } })) ?? undefined;
  }

  async findByActionId(actionId: string): Promise<OriginateIntent | undefined> {
    const row = await this.prisma.originateRequest.findUnique({ where: { actionId } });
    if (!row || row.node !== this.node) return undefined;
    return { actionId: row.actionId, callId: row.callId, accountId: row.accountId, user: row.user, num: row.num, src: row.src, at: row.createdAt.getTime() };
  }

  /**
   * Deletes this node's requests made before `before`, in chunks. A row is needed while a late
   * OriginateResponse or a retried originate of its call can still come (minutes; a v1 retry with
   * the same Idempotency-Key within the gateway's 24 h): kept a week, the table stays small.
   */
  async prune(before: Date, chunk = 10_000): Promise<number> {
    let total = 0;
    for (;;) {
      const deleted = await this.prisma.$executeRaw`
        DELETE FROM originate_requests WHERE action_id IN (
          SELECT action_id FROM originate_requests WHERE node = ${this.node} AND created_at < ${before} LIMIT ${chunk})`;
      total += deleted;
      if (deleted < chunk) return total;
    }
  }

  async recordOutcome(actionId: string, response: string, reason: number | null): Promise<void> {
    await this.prisma.originateRequest.updateMany({
      where: { actionId, finishedAt: null },
      data: { response: response.slice(0, 20), reason, finishedAt: new Date() },
    });
  }
}
