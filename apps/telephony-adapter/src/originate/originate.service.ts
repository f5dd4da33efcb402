import { randomUUID } from 'node:crypto';
import { AccountId, DialNumber, DomainError, UserName } from '@ringcloud/contracts-common';
import { TelephonyOriginate } from '@ringcloud/contracts-telephony';
import { REPLY_MARGIN_MS, requesterGaveUp, requesterWaits } from '@ringcloud/nest-nats';
import { AmiActionFields, checkedAction } from '../ami/ami-headers';
import { field } from '../ami/ami-message';
import { AmiSession } from '../ami/ami-session';
import { CallNormaliser, OriginateIntent } from '../calls/call-normaliser';
import { Registrations } from '../calls/registrations';
import { ContextTemplate, renderDevice } from '../config/telephony-config';
import { isDatabaseUnavailable } from '../infra/database';
import { DirectoryEntry } from '../users/user-directory';

export interface OriginateDeps {
  session: AmiSession;
  registrations: Registrations;
  normaliser: CallNormaliser;
  requests: {
    save(intent: OriginateIntent): Promise<void>;
    delete(actionId: string): Promise<void>;
    findByCallId(callId: string): Promise<{ actionId: string; accountId: number; src: string } | undefined>;
  };
  directory: { provisioned(user: string): Promise<DirectoryEntry | undefined> };
  deviceTemplate: string;
  context: ContextTemplate;
  timeoutMs: number;
  /** How long to wait for the contact list of a fresh connection. */
  syncWaitMs: number;
  now?: () => number;
  logger?: { warn(message: string): void };
}

export const NO_DEVICE = TelephonyOriginate.NO_DEVICE;

export interface OriginateOptions {
  /** When the requester stops waiting (epoch ms; `requesterDeadline`), if it said. */
  deadline?: number;
}

/**
 * Click-to-call: rings the employee's device (leg A) with an async Originate into the account's
 * context, which dials `num` once A answers. Answers as soon as Asterisk has queued it; the
 * outcome arrives as events (OriginateResponse with our ActionID, then the call's own events).
 */
export class OriginateService {
  constructor(private readonly deps: OriginateDeps) {}

  async originate(request: TelephonyOriginate.Request, options: OriginateOptions = {}): Promise<TelephonyOriginate.Response> {
    const { session, normaliser, requests, directory } = this.deps;
    // Validated by the contract already; checked again because these values go into AMI headers.
    if (!AccountId.safeParse(request.account_id).success || !UserName.safeParse(request.user).success) throw DomainError.badRequest('Unknown user');
    const num = DialNumber.safeParse(request.num);
    if (!num.success) throw DomainError.badRequest('num must be 2 to 20 digits with an optional leading +');
    if (!/^[0-9a-f-]{36}$/i.test(request.call_id)) throw DomainError.badRequest('call_id must be a UUID');
    if (!session.isReady) throw DomainError.unavailable('the PBX is unavailable');

    const known = await this.db(() => requests.findByCallId(request.call_id));
    if (known) {
      // A retried request for a call already sent: ringing the phone twice would be worse.
      if (known.accountId !== request.account_id) throw DomainError.badRequest('call_id already used');
      return { call_id: request.call_id, action_id: known.actionId, src: known.src };
    }
    // Users provisioned now only (not deleted), of this account (another tenant's user is unknown the same way).
    const entry = await this.db(() => directory.provisioned(request.user));
    if (!entry || entry.accountId !== request.account_id) throw DomainError.notFound(`Unknown user ${request.user}`);

    const device = renderDevice(this.deps.deviceTemplate, request.user);
    await this.checkRegistered(device);

    const src = entry.num;
    const actionId = `rc-${randomUUID()}`;
    const fields: AmiActionFields = {
      Action: 'Originate',
      Channel: device,
      Context: this.deps.context.render(request.account_id),
      Exten: num.data,
      Priority: '1',
      Async: 'true',
      Timeout: String(this.deps.timeoutMs),
      CallerID: `"${num.data}" <${src}>`,
      Variable: { RC_CALL_ID: request.call_id, RC_ACCOUNT: String(request.account_id), RC_USER: request.user },
    };
    checkedAction(fields); // before anything is recorded: CR/LF never gets that far

    const intent: OriginateIntent = {
      actionId,
      callId: request.call_id,
      accountId: request.account_id,
      user: request.user,
      num: num.data,
      src,
      at: this.now(),
    };
    await this.db(() => requests.save(intent));
    normaliser.registerIntent(intent);
    // Last moment before the phone rings: the database may have kept us past the requester's patience.
    await this.refuseIfAbandoned(options.deadline, intent);

    let response;
    try {
      response = await session.action(fields, { actionId });
    } catch (err) {
      if (!session.isReady) await this.undo(actionId); // never written, or the PBX went away with it
      throw err;
    }
    if (field(response, 'response').toLowerCase() !== 'success') {
      await this.undo(actionId);
      // Asterisk's reason, for the logs of the caller; it carries nothing the request did not send.
      throw DomainError.unavailable(`the PBX refused the originate: ${field(response, 'message').slice(0, 200) || 'no reason given'}`);
    }
    return { call_id: request.call_id, action_id: actionId, src };
  }

  /**
   * Refuses a user whose phone has no contact Asterisk would ring: the Originate would be
   * "successfully queued" and fail 3 ms later (fixture 38). Answered from the contacts tracked
   * since the last (re)connect, without a round trip to the PBX. Only PJSIP devices have
   * contacts; another device template leaves the decision to Asterisk (a FAILED record).
   */
  private async checkRegistered(device: string): Promise<void> {
    // PJSIP/<endpoint>[/<uri>] or PJSIP/<endpoint>@<...>: contacts belong to the endpoint.
    const endpoint = /^PJSIP\/([^/@]+)/.exec(device)?.[1];
    if (!endpoint) return;
    const { registrations } = this.deps;
    if (!registrations.isSynced && !(await registrations.whenSynced(this.deps.syncWaitMs))) {
      throw DomainError.unavailable('the PBX state is not known yet; try again');
    }
    if (!registrations.isRegistered(endpoint)) throw DomainError.badRequest(NO_DEVICE);
  }

  /**
   * A requester that gave up answered its client 503 already: ringing the phone now would place a
   * call the client was told failed — and its retry a second one. Nothing has reached the PBX yet.
   */
  private async refuseIfAbandoned(deadline: number | undefined, intent: OriginateIntent): Promise<void> {
    const now = this.now();
    if (requesterWaits(deadline, REPLY_MARGIN_MS, now)) return;
    await this.undo(intent.actionId);
    const left = deadline! - now;
    this.deps.logger?.warn(`originate ${intent.callId} not sent to the PBX: its requester ${left < 0 ? `gave up ${-left} ms ago` : `gives up in ${left} ms`}`);
    throw requesterGaveUp('the PBX was asked');
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  private async undo(actionId: string): Promise<void> {
    this.deps.normaliser.forgetIntent(actionId);
    await this.deps.requests.delete(actionId).catch(() => undefined);
  }

  private async db<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (isDatabaseUnavailable(err)) throw DomainError.unavailable('the telephony database is unavailable');
      throw err;
    }
  }
}
