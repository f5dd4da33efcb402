import { Inject, Injectable } from '@nestjs/common';
import { PRISMA, PrismaClient } from '../infra/database';

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

  async create(request: NewOriginateRequest): Promise<void> {
    await this.prisma.originateRequest.create({ data: request });
  }

  async settle(callId: string, outcome: OriginateOutcome): Promise<void> {
    await this.prisma.originateRequest.update({
      where: { callId },
      data: outcome.status === 'queued' ? { status: 'queued', actionId: outcome.actionId, src: outcome.src } : { status: outcome.status, error: outcome.error },
    });
  }
}
