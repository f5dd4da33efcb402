import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { CallsOriginateRecord, ORIGINATE_QUEUED, OriginateOutcome } from '@ringcloud/contracts-calls';
import { DomainError, ErrorCode, ErrorData } from '@ringcloud/contracts-common';
import { TelephonyOriginate } from '@ringcloud/contracts-telephony';
import { MessagingUnavailableError, RpcClient } from '@ringcloud/nest-nats';

const logger = new Logger('Originate');

export interface OriginateRequest {
  account_id: number;
  user: string;
  num: string;
  external_id: string | null;
}

/**
 * `POST /v1/calls`: the originate goes straight to the telephony adapter under a new call id —
 * nothing else stands between the request and the ringing phone — and calls-service then records
 * the request with the adapter's outcome and turns a refusal into v1's answer (CallsOriginateRecord).
 */
export async function originateCall(rpc: RpcClient, request: OriginateRequest): Promise<{ call_id: string; message: string }> {
  const call_id = randomUUID();
  let adapterError: unknown;
  const outcome: OriginateOutcome = await rpc
    .send(TelephonyOriginate.contract, { call_id, account_id: request.account_id, user: request.user, num: request.num })
    .then(
      (queued) => ({ status: 'queued' as const, action_id: queued.action_id, src: queued.src }),
      (err) => {
        adapterError = err;
        return { status: 'refused' as const, error: errorData(err) };
      },
    );
  let verdict: unknown;
  try {
    return await rpc.send(CallsOriginateRecord.contract, { ...request, call_id, outcome });
  } catch (err) {
    verdict = err;
  }
  if (outcome.status === 'queued') {
    // The PBX has the call: an error now would make the CRM dial the customer twice. It is still
    // followed by its events; only the request's record (its external_id) is missing.
    logger.warn(`originate ${call_id} queued but not recorded: ${(verdict as Error).message}`);
    return { call_id, message: ORIGINATE_QUEUED };
  }
  throw refusal(adapterError, verdict, request);
}

/** The adapter's refusal as it travels to calls-service; transport failures are UNAVAILABLE. */
function errorData(err: unknown): ErrorData {
  if (err instanceof DomainError && !(err instanceof MessagingUnavailableError) && err.code !== ErrorCode.Internal) {
    return { code: err.code, message: err.message.slice(0, 500) };
  }
  return { code: ErrorCode.Unavailable, message: 'the telephony adapter is unavailable' };
}

/**
 * The client's error for a refused originate: the 503 of any route whose service is away when the
 * adapter could not be reached; else calls-service's verdict; else (calls-service away too) the
 * adapter's own answer, where a user the PBX does not know is "Unknown user".
 */
function refusal(adapterError: unknown, verdict: unknown, request: OriginateRequest): unknown {
  if (adapterError instanceof MessagingUnavailableError) return adapterError;
  if (verdict instanceof DomainError && !(verdict instanceof MessagingUnavailableError) && verdict.code !== ErrorCode.Internal) return verdict;
  if (adapterError instanceof DomainError && adapterError.code === ErrorCode.NotFound) return DomainError.badRequest(`Unknown user ${request.user}`);
  if (adapterError instanceof DomainError && adapterError.code !== ErrorCode.Internal) return adapterError;
  return DomainError.unavailable('the telephony adapter is unavailable');
}
