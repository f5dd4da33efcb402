import { createHash } from 'node:crypto';
import { NumberRouting, UserDeprovisioning, UserProvisioning } from '@ringcloud/contracts-users';
import { lockByName } from '@ringcloud/nest-prisma';
import { ContextTemplate } from '../config/telephony-config';
import { Prisma, PrismaClient } from '../infra/database';

export interface ProvisionResult {
  status: 'applied' | 'stale';
  /** The first endpoint of its account: Asterisk's dial plan must learn the new context (dialplan reload). */
  newContext: boolean;
}

const SHOW_ORIGINATOR = '${IF($["${RC_CALL_ID}" = ""]?:f(${CALLERID(num)} <${CALLERID(num)}>))}';

/**
 * The `Dial` data of a user's extension row: ring the phone 30 s. On a click-to-call (the Originate
 * set RC_CALL_ID) Dial's `f()` presents the calling employee to a colleague's phone; without it the
 * colleague would see the Originate's CallerID, whose name is the number dialled — its own
 * (fixtures 47 and 50). Other calls keep the caller's own identity (empty options).
 */
export const dialData = (user: string) => `PJSIP/${user},30,${SHOW_ORIGINATOR}`;

/** A user's own extension row, whichever release wrote its Dial data: only this user's starts so. */
const ownDialRow = (user: string) => ({ priority: 1, app: 'Dial', appdata: { startsWith: `PJSIP/${user},` } });

export interface DialplanStep {
  priority: number;
  app: string;
  appdata: string;
}

/**
 * A user's extension in the realtime dial plan (docker/asterisk/extensions.conf): ring the phone
 * for 30 s; with voicemail on, a caller it did not reach (busy, no answer, not registered) leaves
 * a message — the busy greeting when the phone was busy. Every extension ends in its own
 * `Hangup()`: when Dial returns, Asterisk looks up the next priority of the same extension, and a
 * priority the realtime switch lacks is searched in the context's includes — `rc-outbound`'s
 * `_X.` has one, and would dial the employee's extension out through the trunk.
 */
export function extensionSteps(user: string, num: string, context: string, voicemail: boolean): DialplanStep[] {
  const steps = [{ priority: 1, app: 'Dial', appdata: dialData(user) }];
  if (voicemail) steps.push({ priority: 2, app: 'VoiceMail', appdata: `${num}@${context},\${IF($["\${DIALSTATUS}" = "BUSY"]?b:u)}` });
  steps.push({ priority: steps.length + 1, app: 'Hangup', appdata: '' });
  return steps;
}

/**
 * An inbound number's route in the trunk's context: file the call under the account, record it
 * (inbound calls are recorded like click-to-call), then ring the user's extension.
 */
export function inboundSteps(accountContext: string, num: string): DialplanStep[] {
  return [
    { priority: 1, app: 'Set', appdata: `CDR(userfield)=${accountContext}` },
    { priority: 2, app: 'MixMonitor', appdata: '${RECDIR}/${UNIQUEID}.wav' },
    { priority: 3, app: 'Goto', appdata: `${accountContext},${num},1` },
  ];
}

export interface ProvisioningOptions {
  /** ps_endpoints.transport. */
  transport: string;
  /** ps_aors.qualify_frequency, seconds. */
  qualifyFrequency: number;
  /** The trunk's context, where inbound number routes live. */
  inboundContext: string;
}

/**
 * Voicemail PIN: app_voicemail needs one, v1 has none (the box is reached from the user's own
 * phone, where VoiceMailMain's `s` option skips it). Derived from the SIP digest, so it is not
 * guessable, changes with the password, and replaying the same event writes the same row.
 */
export const voicemailPin = (md5Cred: string) => String(createHash('sha256').update(`vm:${md5Cred}`).digest().readUInt32BE(0) % 1_000_000).padStart(6, '0');

/**
 * Writes a user's state into Asterisk's realtime tables from users-service events. Every event
 * carries the user's whole state and a `version`: one transaction per event, serialised per
 * user, applies it only when newer than what was applied, so duplicates, redeliveries and
 * replays of the whole stream converge to the same rows. Asterisk re-reads realtime rows on
 * each request: a changed password or extension works at once, without a reload.
 */
export class ProvisioningService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly context: ContextTemplate,
    private readonly options: ProvisioningOptions,
  ) {}

  async apply(event: UserProvisioning): Promise<ProvisionResult> {
    return this.prisma.$transaction(async (tx) => {
      // Two replicas (or a redelivery racing the original) provisioning one user wait for each other.
      await lockByName(tx, `telephony-provision:${event.user}`);
      const current = await tx.provisionedUser.findUnique({ where: { user: event.user } });
      if (current && current.version >= event.version) return { status: 'stale', newContext: false };

      const context = this.context.render(event.account_id);
      const newContext = (await tx.psEndpoint.count({ where: { context, id: { not: event.user } } })) === 0 && current?.accountId !== event.account_id;
      const voicemail = event.voice_mail_box === 'on';
      await this.endpoint(tx, event, context, voicemail);
      if (current) await this.releaseOld(tx, event, current, voicemail);
      await writeSteps(tx, context, event.num, extensionSteps(event.user, event.num, context, voicemail));
      if (current && current.num !== event.num) await this.followUser(tx, event.user, event.num);
      if (voicemail) {
        // attach NULL: voicemail.conf's `attach` decides whether the e-mail of a message carries the
        // recording (a row's value overrides that file: with 'yes' here, `attach = no` there still attached it).
        const box = { password: voicemailPin(event.sip.md5_cred), email: event.mail.slice(0, 80), attach: null };
        await tx.voicemail.upsert({
          where: { context_mailbox: { context, mailbox: event.num } },
          create: { context, mailbox: event.num, ...box },
          update: box,
        });
      } else {
        await tx.voicemail.deleteMany({ where: { context, mailbox: event.num } });
      }
      const state = { accountId: event.account_id, num: event.num, voicemail, version: event.version, eventId: event.event_id, appliedAt: new Date() };
      await tx.provisionedUser.upsert({ where: { user: event.user }, create: { user: event.user, ...state }, update: state });
      return { status: 'applied', newContext };
    });
  }

  /**
   * A deleted user: its SIP endpoint, auth and AOR go (its phone can no longer register or
   * call), and its extension and mailbox if they are still its own. The provisioned_users row
   * stays with the deletion's version, so a late create or update is stale, and calls the user
   * made before still belong to its account.
   */
  async remove(event: UserDeprovisioning): Promise<{ status: 'applied' | 'stale' }> {
    return this.prisma.$transaction(async (tx) => {
      await lockByName(tx, `telephony-provision:${event.user}`);
      const current = await tx.provisionedUser.findUnique({ where: { user: event.user } });
      if (current && current.version >= event.version) return { status: 'stale' as const };
      const id = event.user;
      await tx.psEndpoint.deleteMany({ where: { id } });
      await tx.psAuth.deleteMany({ where: { id } });
      await tx.psAor.deleteMany({ where: { id } });
      const context = this.context.render(current?.accountId ?? event.account_id);
      const num = current?.num ?? event.num;
      // Only if the extension is still this user's: another user may hold it by now.
      const mine = await tx.extension.count({ where: { context, exten: num, ...ownDialRow(id) } });
      if (mine > 0) {
        await tx.extension.deleteMany({ where: { context, exten: num } });
        await tx.voicemail.deleteMany({ where: { context, mailbox: num } });
      }
      const state = { accountId: event.account_id, num: event.num, voicemail: false, version: event.version, eventId: event.event_id, appliedAt: new Date() };
      await tx.provisionedUser.upsert({ where: { user: id }, create: { user: id, ...state }, update: state });
      return { status: 'applied' as const };
    });
  }

  private async endpoint(tx: Prisma.TransactionClient, event: UserProvisioning, context: string, voicemail: boolean): Promise<void> {
    const id = event.user;
    const endpoint = {
      transport: this.options.transport,
      aors: id,
      auth: id,
      context,
      disallow: 'all',
      allow: 'ulaw,alaw',
      directMedia: 'no',
      dtmfMode: 'rfc4733',
      forceRport: 'yes',
      rewriteContact: 'yes',
      rtpSymmetric: 'yes',
      callerid: `"${event.num}" <${event.num}>`,
      mailboxes: voicemail ? `${event.num}@${context}` : null,
      accountcode: String(event.account_id),
      setVar: await callerNumberVar(tx, id),
    };
    await tx.psEndpoint.upsert({ where: { id }, create: { id, ...endpoint }, update: endpoint });
    const auth = { authType: 'md5', username: event.sip.username, realm: event.sip.realm, md5Cred: event.sip.md5_cred, password: null };
    await tx.psAuth.upsert({ where: { id }, create: { id, ...auth }, update: auth });
    const aor = { maxContacts: 1, removeExisting: 'yes', qualifyFrequency: this.options.qualifyFrequency };
    await tx.psAor.upsert({ where: { id }, create: { id, ...aor }, update: aor });
  }

  /**
   * An inbound number's route, from its whole state (assigned to a user, or released): applied
   * only when newer than what was applied, serialised per number. The route rings the user's
   * extension as provisioned here (it follows later extension changes, see followUser); the
   * event's `num` serves when the user is not provisioned yet.
   */
  async applyNumber(event: NumberRouting): Promise<{ status: 'applied' | 'stale' }> {
    return this.prisma.$transaction(async (tx) => {
      await lockByName(tx, `telephony-number:${event.number}`);
      const current = await tx.provisionedNumber.findUnique({ where: { number: event.number } });
      if (current && current.version >= event.version) return { status: 'stale' as const };
      // The old and the new owner may present another number on outside calls now: their endpoints
      // are rewritten below, under each user's own lock (as provisioning writes them), taken in name
      // order before any row is touched — a user's provisioning holding its lock may be moving this
      // number's route (followUser) and must not wait for rows locked here.
      const owners = [...new Set([current?.user, event.user].filter((u): u is string => !!u))].sort();
      for (const user of owners) await lockByName(tx, `telephony-provision:${user}`);
      const inbound = this.options.inboundContext;
      await tx.extension.deleteMany({ where: { context: inbound, exten: event.number } });
      if (event.account_id !== null && event.user !== null) {
        const num = (await tx.provisionedUser.findUnique({ where: { user: event.user } }))?.num ?? event.num;
        if (num) await writeSteps(tx, inbound, event.number, inboundSteps(this.context.render(event.account_id), num));
      }
      const state = { accountId: event.account_id, user: event.user, version: event.version, eventId: event.event_id, appliedAt: new Date() };
      await tx.provisionedNumber.upsert({ where: { number: event.number }, create: { number: event.number, ...state }, update: state });
      for (const user of owners) await tx.psEndpoint.updateMany({ where: { id: user }, data: { setVar: await callerNumberVar(tx, user) } });
      return { status: 'applied' as const };
    });
  }

  /** The user's extension moved: the routes of the numbers that ring it move too. */
  private async followUser(tx: Prisma.TransactionClient, user: string, num: string): Promise<void> {
    const numbers = await tx.provisionedNumber.findMany({ where: { user, accountId: { not: null } } });
    for (const n of numbers) {
      await tx.extension.deleteMany({ where: { context: this.options.inboundContext, exten: n.number } });
      await writeSteps(tx, this.options.inboundContext, n.number, inboundSteps(this.context.render(n.accountId!), num));
    }
  }

  /** The extension row (if still this user's) and mailbox of the previous state, when they moved. */
  private async releaseOld(
    tx: Prisma.TransactionClient,
    event: UserProvisioning,
    current: { accountId: number; num: string; voicemail: boolean },
    voicemail: boolean,
  ): Promise<void> {
    const oldContext = this.context.render(current.accountId);
    const moved = current.num !== event.num || current.accountId !== event.account_id;
    if (moved) {
      // Only if the extension is still this user's: another user may hold it by now.
      const mine = await tx.extension.count({ where: { context: oldContext, exten: current.num, ...ownDialRow(event.user) } });
      if (mine > 0) await tx.extension.deleteMany({ where: { context: oldContext, exten: current.num } });
    }
    if (current.voicemail && (moved || !voicemail)) {
      await tx.voicemail.deleteMany({ where: { context: oldContext, mailbox: current.num } });
    }
  }
}

/**
 * The endpoint's `set_var`: the number the user presents on outside calls (rc-outbound's Dial
 * `f()`), the smallest of the numbers routed to them; null without one (the extension is shown).
 */
async function callerNumberVar(tx: Prisma.TransactionClient, user: string): Promise<string | null> {
  const first = await tx.provisionedNumber.findFirst({ where: { user, accountId: { not: null } }, orderBy: { number: 'asc' }, select: { number: true } });
  return first ? `RC_CALLER_NUMBER=${first.number}` : null;
}

/** Replaces every priority of (context, exten) with `steps`. */
async function writeSteps(tx: Prisma.TransactionClient, context: string, exten: string, steps: DialplanStep[]): Promise<void> {
  await tx.extension.deleteMany({ where: { context, exten } });
  await tx.extension.createMany({ data: steps.map((step) => ({ context, exten, ...step })) });
}
