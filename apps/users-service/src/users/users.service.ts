import { Inject, Injectable } from '@nestjs/common';
import { CursorKey, DomainError, IDEMPOTENCY_MISMATCH_MESSAGE, Page, PageRequest, compareCursorKeys, pageOf } from '@ringcloud/contracts-common';
import { UsersUserCreate, V1User } from '@ringcloud/contracts-users';
import { crmUser, crmUserEvent } from './crm-events';
import { isForeignKeyViolation, isUniqueViolationOn, uniqueViolation } from '../infra/prisma-errors';
import { NumbersService } from '../numbers/numbers.service';
import { requesterGaveUp, requesterWaits } from '@ringcloud/nest-nats';
import { OutboxSignal, OutboxStore } from '@ringcloud/nest-outbox';
import { randomUserName } from '../secrets/random';
import { SipPasswordCipher } from '../secrets/sip-password-cipher';
import { ALL_FIELDS, ChangedField, deprovisioningEvent, provisioningEvent } from './user-events';
import { UserFields, UserRow, UsersRepository } from './users.repository';

export const SIP_REALM = Symbol('SIP_REALM');

/** A change to one user: any of the v1 update verbs. */
export interface UserChange {
  password?: string;
  num?: string;
  mail?: string;
  voicemail?: boolean;
}

const USER_NAME_ATTEMPTS = 8;
const userKey = (row: UserRow): CursorKey => [Number(row.extension), row.extension, row.username];
const userNotFound = () => DomainError.notFound('User not found');
const extensionTaken = (num: string) => DomainError.badRequest(`extension ${num} is already used in this account`);

/**
 * Users (SIP accounts) of one account. Every change and its provisioning event are written in
 * one transaction (outbox), then the relay is nudged to publish. An extension change also writes
 * a new routing event for each of the user's inbound numbers.
 */
@Injectable()
export class UsersService {
  /** Where user names come from (a test swaps it to force a collision). */
  nextUserName: () => string = randomUserName;

  constructor(
    private readonly users: UsersRepository,
    private readonly outbox: OutboxStore,
    @Inject(SipPasswordCipher) private readonly cipher: SipPasswordCipher,
    @Inject(SIP_REALM) private readonly realm: string,
    private readonly outboxSignal: OutboxSignal,
    private readonly numbers: NumbersService,
  ) {}

  /** Ordered by extension (numerically), then user name. */
  async list(accountId: number, includePassword: boolean): Promise<V1User[]> {
    return (await this.sortedRows(accountId)).map((row) => this.toV1(row, includePassword));
  }

  /**
   * One page of `list`, keyed by (extension as a number, extension, user name): a user added or
   * removed meanwhile does not shift the pages. An account's users fit in memory (v1 lists them
   * all in one answer), so the page is cut from the sorted list.
   */
  async listPage(accountId: number, includePassword: boolean, page: PageRequest): Promise<Page<V1User>> {
    const { items, next_cursor } = pageOf(await this.sortedRows(accountId), page, userKey);
    return { items: items.map((row) => this.toV1(row, includePassword)), next_cursor };
  }

  private async sortedRows(accountId: number): Promise<UserRow[]> {
    // Extensions and user names are digit strings: code-unit order is v1's localeCompare order.
    return (await this.users.listInAccount(accountId)).sort((a, b) => compareCursorKeys(userKey(a), userKey(b)));
  }

  /** A user of another account is NOT_FOUND, exactly like one that does not exist. */
  async get(accountId: number, username: string, includePassword: boolean): Promise<V1User> {
    const row = await this.users.findInAccount(accountId, username);
    if (!row) throw userNotFound();
    return this.toV1(row, includePassword);
  }

  /**
   * Creates a user under a fresh random user name; returns the name. A request with a `request_id`
   * (an Idempotency-Key) that already created its user answers that user again.
   */
  /** `deadline`: the requester's; a create it no longer waits for is rolled back (its retry would find the extension taken). */
  async create(req: UsersUserCreate.Request, deadline?: number): Promise<string> {
    const earlier = await this.createdBefore(req);
    if (earlier) return earlier;
    for (let attempt = 0; attempt < USER_NAME_ATTEMPTS; attempt++) {
      const username = this.nextUserName();
      try {
        const created = await this.users.transaction(async (tx) => {
          // A deleted user's name is never given again (its call records still name it).
          if (await this.users.isTaken(tx, username)) return false;
          const row = await this.users.insert(tx, {
            username,
            accountId: req.account_id,
            extension: req.num,
            email: req.mail,
            voicemail: false,
            sipPasswordEnc: this.cipher.encrypt(req.password, username),
          }, req.request_id ?? null);
          await this.outbox.append(tx, provisioningEvent('created', row, req.password, this.realm, ALL_FIELDS));
          await this.outbox.append(tx, crmUserEvent('user.created', row.accountId, crmUser(this.toV1(row, false))));
          if (!requesterWaits(deadline)) throw requesterGaveUp('the user was created');
          return true;
        });
        if (!created) continue;
        this.outboxSignal.eventsWritten();
        return username;
      } catch (err) {
        // The same request, finished by an attempt the client had given up on (its 503), just now.
        if (isUniqueViolationOn(err, 'extension') || isUniqueViolationOn(err, 'request')) {
          const earlier = await this.createdBefore(req);
          if (earlier) return earlier;
        }
        if (isUniqueViolationOn(err, 'extension')) throw extensionTaken(req.num);
        if (isForeignKeyViolation(err)) throw DomainError.notFound(`account ${req.account_id} not found`);
        if (!uniqueViolation(err)) throw err;
        // The random user name is taken somewhere on the platform: draw another.
      }
    }
    throw DomainError.unavailable('could not allocate a user name, try again');
  }

  /** The user this request (its `request_id`) created before; the same key with other params is a 400. */
  private async createdBefore(req: UsersUserCreate.Request): Promise<string | undefined> {
    if (req.request_id === undefined) return undefined;
    const row = await this.users.findCreatedBy(req.account_id, req.request_id);
    if (!row) return undefined;
    const same = row.extension === req.num && row.email === req.mail && this.cipher.decrypt(row.sipPasswordEnc, row.username) === req.password;
    if (!same) throw DomainError.badRequest(IDEMPOTENCY_MISMATCH_MESSAGE);
    return row.username;
  }

  async update(accountId: number, username: string, change: UserChange): Promise<null> {
    const fields: UserFields = {};
    const changed: ChangedField[] = [];
    if (change.password !== undefined) {
      fields.sipPasswordEnc = this.cipher.encrypt(change.password, username);
      changed.push('password');
    }
    if (change.num !== undefined) {
      fields.extension = change.num;
      changed.push('num');
    }
    if (change.mail !== undefined) {
      fields.email = change.mail;
      changed.push('mail');
    }
    if (change.voicemail !== undefined) {
      fields.voicemail = change.voicemail;
      changed.push('voice_mail_box');
    }
    if (!changed.length) throw DomainError.badRequest('nothing to change');
    try {
      await this.users.transaction(async (tx) => {
        const row = await this.users.update(tx, accountId, username, fields);
        if (!row) throw userNotFound();
        const password = change.password ?? this.cipher.decrypt(row.sipPasswordEnc, row.username);
        await this.outbox.append(tx, provisioningEvent('updated', row, password, this.realm, changed));
        await this.outbox.append(tx, crmUserEvent('user.updated', row.accountId, crmUser(this.toV1(row, false))));
        // The user's row is locked by the update: its numbers' routes follow the new extension.
        if (change.num !== undefined) await this.numbers.extensionChanged(tx, row.username, row.extension);
      });
    } catch (err) {
      if (change.num !== undefined && isUniqueViolationOn(err, 'extension')) throw extensionTaken(change.num);
      throw err;
    }
    this.outboxSignal.eventsWritten();
    return null;
  }

  /**
   * Deletes the user: its inbound numbers are released (their routes go), the PBX removes its SIP
   * endpoint, extension and mailbox (users.user.deleted), the CRM hears user.deleted. A tombstone
   * keeps the user name from ever naming another user; calls-service keeps its call records and
   * recordings. Another account's user is NOT_FOUND, as for every verb.
   */
  async delete(accountId: number, username: string): Promise<null> {
    await this.users.transaction(async (tx) => {
      const row = await this.users.lockInAccount(tx, accountId, username);
      if (!row) throw userNotFound();
      await this.numbers.releaseAllOfUser(tx, row.username);
      const version = row.version + 1;
      await this.users.deleteWithTombstone(tx, row, version);
      await this.outbox.append(tx, deprovisioningEvent(row, version));
      await this.outbox.append(tx, crmUserEvent('user.deleted', row.accountId, { account_id: row.accountId, user: row.username }));
    });
    this.outboxSignal.eventsWritten();
    return null;
  }

  private toV1(row: UserRow, includePassword: boolean): V1User {
    return {
      account_id: row.accountId,
      user: row.username,
      num: row.extension,
      mail: row.email,
      voice_mail_box: row.voicemail ? 'on' : 'off',
      password: includePassword ? this.cipher.decrypt(row.sipPasswordEnc, row.username) : null,
    };
  }
}
