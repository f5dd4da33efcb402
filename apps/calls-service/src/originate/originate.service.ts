import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DomainError, ErrorCode } from '@ringcloud/contracts-common';
import type { CallsOriginate } from '@ringcloud/contracts-calls';
import { TelephonyOriginate } from '@ringcloud/contracts-telephony';
import { RpcClient } from '@ringcloud/nest-nats';
import { AnnounceNow } from '../crm/announce-now';
import { dependencyError } from '../infra/dependency-error';
import { UserDirectory } from '../users/user-directory';
import { OriginateOutcome, OriginateRepository } from './originate.repository';

export const ORIGINATE_QUEUED = 'Originate successfully queued';

/**
 * `POST /v1/calls`: asks the telephony adapter to originate under a new call_id (the PBX carries it
 * as RC_CALL_ID, so every event of the call comes back with it) and records the request meanwhile.
 * The adapter is the judge of the user (provisioned in this account, phone registered) and tells
 * the user's extension; nothing else stands between the request and the PBX, because every
 * millisecond here is a millisecond the employee waits for the phone to ring (users-service is
 * asked only when the adapter does not know the user). The call proceeds asynchronously and is
 * followed through JetStream events.
 */
@Injectable()
export class OriginateService {
  private readonly logger = new Logger('OriginateService');

  constructor(
    private readonly users: UserDirectory,
    private readonly requests: OriginateRepository,
    private readonly rpc: RpcClient,
    private readonly announceNow: AnnounceNow,
  ) {}

  async originate(req: CallsOriginate.Request): Promise<CallsOriginate.Response> {
    const callId = randomUUID();
    // The command goes out first; the request's insert (query building included) runs while the adapter works.
    const sent = this.rpc.send(TelephonyOriginate.contract, { call_id: callId, account_id: req.account_id, user: req.user, num: req.num });
    const stored = this.store(callId, req);
    let outcome: OriginateOutcome;
    try {
      const queued = await sent;
      outcome = { status: 'queued', actionId: queued.action_id, src: queued.src };
    } catch (err) {
      const error = await this.refusal(err, req);
      if (await stored) await this.settle(callId, { status: error.code === ErrorCode.BadRequest ? 'rejected' : 'failed', error: error.message });
      throw error;
    }
    // The call is queued on the PBX whatever happens to its record: answering an error now would
    // make the client dial the customer twice. Without the record it is still followed by its events.
    if (await stored) await this.settle(callId, outcome);
    return { call_id: callId, message: ORIGINATE_QUEUED };
  }

  /**
   * Stores the request and, if its call's first telephony events came first, announces the CRM
   * events they made due (crm-stages.ts holds them for the request): one transaction under the
   * call's lock, so the consumer either sees the request or is seen. Resolves false when the
   * request could not be stored.
   */
  private async store(callId: string, req: CallsOriginate.Request): Promise<boolean> {
    const request = { callId, accountId: req.account_id, userName: req.user, num: req.num, externalId: req.external_id ?? null };
    try {
      await this.announceNow.afterChange([callId], (tx) => this.requests.create(tx, request));
      return true;
    } catch (err) {
      this.logger.warn(`originate ${callId}: could not record the request: ${(err as Error).message}`);
      return false;
    }
  }

  /**
   * The client's answer for the adapter's refusal. A user the PBX does not know (NOT_FOUND) is v1's
   * "Unknown user" unless users-service has it — created a moment ago and not provisioned yet — whose
   * phone cannot be registered yet either.
   */
  private async refusal(err: unknown, req: CallsOriginate.Request): Promise<DomainError> {
    if (!(err instanceof DomainError && err.code === ErrorCode.NotFound)) return dependencyError(err, 'telephony', this.logger);
    const user = await this.users.find(req.account_id, req.user);
    return DomainError.badRequest(user ? TelephonyOriginate.NO_DEVICE : `Unknown user ${req.user}`);
  }

  /** The outcome is bookkeeping: failing to record it must not change the answer. */
  private async settle(callId: string, outcome: OriginateOutcome): Promise<void> {
    await this.requests.settle(callId, outcome).catch((err: Error) => this.logger.warn(`originate ${callId}: could not record ${outcome.status}: ${err.message}`));
  }
}
