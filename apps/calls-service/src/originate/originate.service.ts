import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DomainError, ErrorCode } from '@ringcloud/contracts-common';
import type { CallsOriginate } from '@ringcloud/contracts-calls';
import { TelephonyOriginate } from '@ringcloud/contracts-telephony';
import { RpcClient } from '@ringcloud/nest-nats';
import { dependencyError } from '../infra/dependency-error';
import { UserDirectory } from '../users/user-directory';
import { OriginateOutcome, OriginateRepository } from './originate.repository';

export const ORIGINATE_QUEUED = 'Originate successfully queued';

/**
 * `POST /v1/calls`: checks the user, records the request under a new call_id (the PBX carries it
 * as RC_CALL_ID, so every event of the call comes back with it), and asks the telephony adapter to
 * originate. The call itself proceeds asynchronously and is followed through JetStream events.
 */
@Injectable()
export class OriginateService {
  private readonly logger = new Logger('OriginateService');

  constructor(
    private readonly users: UserDirectory,
    private readonly requests: OriginateRepository,
    private readonly rpc: RpcClient,
  ) {}

  async originate(req: CallsOriginate.Request): Promise<CallsOriginate.Response> {
    const user = await this.users.find(req.account_id, req.user);
    if (!user) throw DomainError.badRequest(`Unknown user ${req.user}`);

    const callId = randomUUID();
    await this.requests.create({ callId, accountId: req.account_id, userName: req.user, src: user.num, num: req.num, externalId: req.external_id ?? null });
    let outcome: OriginateOutcome;
    try {
      const queued = await this.rpc.send(TelephonyOriginate.contract, { call_id: callId, account_id: req.account_id, user: req.user, num: req.num });
      outcome = { status: 'queued', actionId: queued.action_id };
    } catch (err) {
      const error = telephonyError(err, this.logger);
      await this.settle(callId, { status: error.code === ErrorCode.BadRequest ? 'rejected' : 'failed', error: error.message });
      throw error;
    }
    await this.settle(callId, outcome);
    return { call_id: callId, message: ORIGINATE_QUEUED };
  }

  /** The outcome is bookkeeping: failing to record it must not change the answer (the call is queued). */
  private async settle(callId: string, outcome: OriginateOutcome): Promise<void> {
    await this.requests.settle(callId, outcome).catch((err: Error) => this.logger.warn(`originate ${callId}: could not record ${outcome.status}: ${err.message}`));
  }
}

/** The adapter's NOT_FOUND (no such endpoint) is an unknown user in the body for v1: 400. */
function telephonyError(err: unknown, logger: Logger): DomainError {
  if (err instanceof DomainError && err.code === ErrorCode.NotFound) return DomainError.badRequest(err.message);
  return dependencyError(err, 'telephony', logger);
}
