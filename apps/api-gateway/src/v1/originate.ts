import { createHash, randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { CallsOriginateRecord, ORIGINATE_QUEUED, OriginateOutcome } from '@ringcloud/contracts-calls';
import { DomainError, ErrorCode, ErrorData } from '@ringcloud/contracts-common';
import { TelephonyOriginate } from '@ringcloud/contracts-telephony';
import { MessagingUnavailableError, RpcClient } from '@ringcloud/nest-nats';

export interface OriginateRequest {
  account_id: number;
  user: string;
  num: string;
  external_id: string | null;
}

/** After a failed record of a queued call, the next attempts (about a minute in all), and how many calls may wait at once. */
export const RECORD_RETRY = { delaysMs: [250, 1_000, 2_000, 5_000, 10_000, 20_000, 30_000], maxWaiting: 10_000 };

/**
 * `POST /v1/calls`: the originate goes straight to the telephony adapter under a new call id —
 * nothing else stands between the request and the ringing phone — and calls-service then records
 * the request with the adapter's outcome and turns a refusal into v1's answer (CallsOriginateRecord).
 * With an Idempotency-Key the call id is derived from it (originateCallId), so a retry after an
 * error reaches the adapter with the same id and gets back the call a late first attempt placed.
 */
export class OriginateFlow {
  private readonly logger = new Logger('Originate');
  private waiting = 0;

  constructor(
    private readonly rpc: RpcClient,
    private readonly retry = RECORD_RETRY,
  ) {}

  async originate(request: OriginateRequest, idempotencyKey?: string): Promise<{ call_id: string; message: string }> {
    const call_id = idempotencyKey === undefined ? randomUUID() : originateCallId(request, idempotencyKey);
    const requested_at = new Date().toISOString();
    let adapterError: unknown;
    const outcome: OriginateOutcome = await this.rpc
      .send(TelephonyOriginate.contract, { call_id, account_id: request.account_id, user: request.user, num: request.num })
      .then(
        (queued) => ({ status: 'queued' as const, action_id: queued.action_id, src: queued.src }),
        (err) => {
          adapterError = err;
          return { status: 'refused' as const, error: errorData(err) };
        },
      );
    const record: CallsOriginateRecord.Request = { ...request, call_id, outcome, requested_at };
    try {
      return await this.rpc.send(CallsOriginateRecord.contract, record);
    } catch (err) {
      if (outcome.status === 'refused') throw refusal(adapterError, err, request);
      // The PBX has the call: an error now would make the CRM dial the customer twice. The call is
      // followed by its events anyway; the request (its external_id) is recorded when calls-service is back.
      this.recordLater(record, err);
      return { call_id, message: ORIGINATE_QUEUED };
    }
  }

  /** Best effort, in this process: a queued call whose record failed is recorded again a little later. */
  private recordLater(record: CallsOriginateRecord.Request, err: unknown): void {
    if (this.waiting >= this.retry.maxWaiting) {
      this.notRecorded(record, err);
      return;
    }
    this.waiting++;
    this.logger.warn(`originate ${record.call_id} queued but not recorded yet (retrying): ${(err as Error).message}`);
    void this.retryRecord(record).finally(() => this.waiting--);
  }

  private async retryRecord(record: CallsOriginateRecord.Request): Promise<void> {
    let last: unknown;
    for (const delay of this.retry.delaysMs) {
      await new Promise((resolve) => setTimeout(resolve, delay).unref());
      try {
        await this.rpc.send(CallsOriginateRecord.contract, record);
        return;
      } catch (err) {
        last = err;
      }
    }
    this.notRecorded(record, last);
  }

  private notRecorded(record: CallsOriginateRecord.Request, err: unknown): void {
    this.logger.error(`originate ${record.call_id}: request not recorded (its call is listed without external_id): ${(err as Error).message}`);
  }
}

/** Namespace of originateCallId's name-based UUIDs (a fixed random UUID: never change it). */
const ORIGINATE_CALL_ID_NAMESPACE = '5f0c3e6e-2b7a-4d3c-9a51-8e4f7c1d2a90';

/**
 * The call id of an originate sent with an Idempotency-Key: the same for every attempt with that key
 * in the account. The params are part of the name too: a key reused once the gateway forgot it (24 h)
 * for another call must not land on the old call (the adapter would answer it instead of ringing).
 */
export function originateCallId(request: OriginateRequest, idempotencyKey: string): string {
  const name = JSON.stringify([request.account_id, idempotencyKey, request.user, request.num, request.external_id]);
  return nameBasedUuid(ORIGINATE_CALL_ID_NAMESPACE, name);
}

/** RFC 9562 UUID version 5: SHA-1 of namespace + name, with the version and variant bits set. */
function nameBasedUuid(namespace: string, name: string): string {
  const bytes = createHash('sha1').update(Buffer.from(namespace.replace(/-/g, ''), 'hex')).update(name, 'utf8').digest().subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x50;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The adapter's refusal as it travels to calls-service; transport failures are UNAVAILABLE. */
function errorData(err: unknown): ErrorData {
  if (isServiceAnswer(err)) return { code: err.code, message: err.message.slice(0, 500) };
  return { code: ErrorCode.Unavailable, message: 'the telephony adapter is unavailable' };
}

/**
 * The client's error for a refused originate: the 503 of any route whose service is away when the
 * adapter could not be reached; else calls-service's verdict; else (calls-service away too) the
 * adapter's own answer, where a user the PBX does not know is "Unknown user".
 */
function refusal(adapterError: unknown, verdict: unknown, request: OriginateRequest): unknown {
  if (adapterError instanceof MessagingUnavailableError) return adapterError;
  if (isServiceAnswer(verdict)) return verdict;
  if (!isServiceAnswer(adapterError)) return DomainError.unavailable('the telephony adapter is unavailable');
  return adapterError.code === ErrorCode.NotFound ? DomainError.badRequest(`Unknown user ${request.user}`) : adapterError;
}

/** An error a service answered on purpose (not the transport failing, not its bug). */
function isServiceAnswer(err: unknown): err is DomainError {
  return err instanceof DomainError && !(err instanceof MessagingUnavailableError) && err.code !== ErrorCode.Internal;
}
