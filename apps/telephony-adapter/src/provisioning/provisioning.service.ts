import { createHash } from 'node:crypto';
import { UserProvisioning } from '@ringcloud/contracts-users';
import { ContextTemplate } from '../config/telephony-config';
import { Prisma, PrismaClient } from '../infra/database';

export interface ProvisionResult {
  status: 'applied' | 'stale';
  /** The first endpoint of its account: Asterisk's dial plan must learn the new context (dialplan reload). */
  newContext: boolean;
}

/** The `Dial` data of a user's extension row; also how the adapter recognises its own rows. */
export const dialData = (user: string) => `PJSIP/${user},30`;

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
    private readonly transport: string,
  ) {}

  async apply(event: UserProvisioning): Promise<ProvisionResult> {
    return this.prisma.$transaction(async (tx) => {
      // Two replicas (or a redelivery racing the original) provisioning one user wait for each other.
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`telephony-provision:${event.user}`}))`;
      const current = await tx.provisionedUser.findUnique({ where: { user: event.user } });
      if (current && current.version >= event.version) return { status: 'stale', newContext: false };

      const context = this.context.render(event.account_id);
      const newContext = (await tx.psEndpoint.count({ where: { context, id: { not: event.user } } })) === 0 && current?.accountId !== event.account_id;
      const voicemail = event.voice_mail_box === 'on';
      await this.endpoint(tx, event, context, voicemail);
      if (current) await this.releaseOld(tx, event, current, voicemail);
      await tx.extension.upsert({
        where: { context_exten_priority: { context, exten: event.num, priority: 1 } },
        create: { context, exten: event.num, priority: 1, app: 'Dial', appdata: dialData(event.user) },
        update: { app: 'Dial', appdata: dialData(event.user) },
      });
      if (voicemail) {
        const box = { password: voicemailPin(event.sip.md5_cred), email: event.mail.slice(0, 80), attach: 'yes' };
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

  private async endpoint(tx: Prisma.TransactionClient, event: UserProvisioning, context: string, voicemail: boolean): Promise<void> {
    const id = event.user;
    const endpoint = {
      transport: this.transport,
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
    };
    await tx.psEndpoint.upsert({ where: { id }, create: { id, ...endpoint }, update: endpoint });
    const auth = { authType: 'md5', username: event.sip.username, realm: event.sip.realm, md5Cred: event.sip.md5_cred, password: null };
    await tx.psAuth.upsert({ where: { id }, create: { id, ...auth }, update: auth });
    // qualify_frequency: Asterisk reports a phone registered after start as reachable only once it qualifies it (issue 7).
    const aor = { maxContacts: 1, removeExisting: 'yes', qualifyFrequency: 60 };
    await tx.psAor.upsert({ where: { id }, create: { id, ...aor }, update: aor });
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
      await tx.extension.deleteMany({ where: { context: oldContext, exten: current.num, priority: 1, appdata: dialData(event.user) } });
    }
    if (current.voicemail && (moved || !voicemail)) {
      await tx.voicemail.deleteMany({ where: { context: oldContext, mailbox: current.num } });
    }
  }
}
