import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DomainError, ErrorCode } from '@ringcloud/contracts-common';
import { CallsOriginate, CallsOriginateRecord, ORIGINATE_QUEUED, OriginateOutcome as AdapterOutcome } from '@ringcloud/contracts-calls';
import { TelephonyOriginate } from '@ringcloud/contracts-telephony';
import { RpcClient } from '@ringcloud/nest-nats';
import { AnnounceNow } from '../crm/announce-now';
import { dependencyError } from '../infra/dependency-error';
import { UserDirectory } from '../users/user-directory';
import { OriginateOutcome, OriginateRepository } from './originate.repository';

/**
 * `POST /v1/calls`. The gateway sends the originate straight to the telephony adapter — every
 * millisecond between the request and the PBX is a millisecond the employee waits for the phone,
 * and this service is the busiest one (it records every call's events) — and then records the
 * request here with the adapter's outcome (CallsOriginateRecord). The adapter is the judge of the
 * user (provisioned in this account, phone registered); this service turns its refusal into v1's
 * answer. The call proceeds asynchronously and is followed through JetStream events.
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

  /** CallsOriginate, from the previous release's gateways: asks the adapter itself, then records. */
  async originate(req: CallsOriginate.Request): Promise<CallsOriginate.Response> {
    const callId = randomUUID();
    const outcome: AdapterOutcome = await this.rpc
      .send(TelephonyOriginate.contract, { call_id: callId, account_id: req.account_id, user: req.user, num: req.num })
      .then(
        (queued) => ({ status: 'queued' as const, action_id: queued.action_id, src: queued.src }),
        (err) => ({ status: 'refused' as const, error: dependencyError(err, 'telephony', this.logger).toData() }),
      );
    try {
      return await this.record({ ...req, call_id: callId, outcome });
    } catch (err) {
      // The PBX has the call: an error now would make the CRM dial the customer twice. Without its
      // record the call is still followed by its events.
      if (outcome.status === 'queued') return { call_id: callId, message: ORIGINATE_QUEUED };
      throw err;
    }
  }

  /**
   * Stores the request with the adapter's outcome. Queued: answered queued, or UNAVAILABLE when it
   * could not be stored (the gateway tries again later; its client has its answer already).
   * Refused: the client's error.
   */
  async record(req: CallsOriginateRecord.Request): Promise<CallsOriginateRecord.Response> {
    const { outcome } = req;
    if (outcome.status === 'queued') {
      if (!(await this.store(req, { status: 'queued', actionId: outcome.action_id, src: outcome.src }))) {
        throw DomainError.unavailable('the originate request could not be recorded');
      }
      return { call_id: req.call_id, message: ORIGINATE_QUEUED };
    }
    const error = await this.refusal(new DomainError(outcome.error.code, outcome.error.message), req);
    await this.store(req, { status: error.code === ErrorCode.BadRequest ? 'rejected' : 'failed', error: error.message });
    throw error;
  }

  /**
   * Stores the request and, if its call's first telephony events came first, announces the CRM
   * events they made due (crm-stages.ts holds them for the request): one transaction under the
   * call's lock, so the consumer either sees the request or is seen. Resolves false when the
   * request could not be stored.
   */
  private async store(req: CallsOriginateRecord.Request, outcome: OriginateOutcome): Promise<boolean> {
    const record = {
      callId: req.call_id,
      accountId: req.account_id,
      userName: req.user,
      num: req.num,
      externalId: req.external_id ?? null,
      outcome,
      requestedAt: req.requested_at === undefined ? undefined : new Date(req.requested_at),
    };
    try {
      await this.announceNow.afterChange([req.call_id], (tx) => this.requests.create(tx, record));
      return true;
    } catch (err) {
      this.logger.warn(`originate ${req.call_id}: could not record the request (${outcome.status}): ${(err as Error).message}`);
      return false;
    }
  }

  /**
   * The client's answer for the adapter's refusal. A user the PBX does not know (NOT_FOUND) is v1's
   * "Unknown user" unless users-service has it — created a moment ago and not provisioned yet — whose
   * phone cannot be registered yet either.
   */
  private async refusal(err: DomainError, req: CallsOriginateRecord.Request): Promise<DomainError> {
    if (err.code !== ErrorCode.NotFound) return dependencyError(err, 'telephony', this.logger);
    const user = await this.users.find(req.account_id, req.user);
    return DomainError.badRequest(user ? TelephonyOriginate.NO_DEVICE : `Unknown user ${req.user}`);
  }
}
