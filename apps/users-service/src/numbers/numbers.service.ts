import { Injectable } from '@nestjs/common';
import { DomainError, Page, PageRequest, cursorAfter, pageFrom } from '@ringcloud/contracts-common';
import { NumberInfo, UsersNumberAssign, UsersNumberReassign } from '@ringcloud/contracts-users';
import type { Prisma } from '../infra/database';
import { OutboxSignal, OutboxStore } from '@ringcloud/nest-outbox';
import { routingEvent, toNumberInfo } from './number-events';
import { NumbersRepository } from './numbers.repository';

const notAssigned = (number: string) => DomainError.notFound(`number ${number} is not assigned`);
const alreadyAssigned = (number: string) => DomainError.badRequest(`number ${number} is already assigned`);
const notInAccount = (user: string, accountId: number) => DomainError.badRequest(`user ${user} not found in account ${accountId}`);

/**
 * Inbound phone numbers (DIDs): which account owns a number and which of its users it rings.
 * Every change and its NumberRouting event are written in one transaction (outbox), then the
 * relay is nudged to publish. Operator-only (admin API, CLI): messages may name numbers and users.
 */
@Injectable()
export class NumbersService {
  constructor(
    private readonly numbers: NumbersRepository,
    private readonly outbox: OutboxStore,
    private readonly outboxSignal: OutboxSignal,
  ) {}

  /** Assigned numbers, all or one account's (NOT_FOUND for an account that does not exist). */
  async list(accountId?: number): Promise<NumberInfo[]> {
    await this.requireAccount(accountId);
    return (await this.numbers.listAssigned(accountId)).map((row) => toNumberInfo(row, row.extension));
  }

  /** One page of `list`, keyed by (account, number), read page by page from the database. */
  async listPage(accountId: number | undefined, page: PageRequest): Promise<Page<NumberInfo>> {
    await this.requireAccount(accountId);
    const after = cursorAfter(page, ['int', 'string']) as [number, string] | undefined;
    const rows = await this.numbers.listAssigned(accountId, { after, take: page.limit + 1 });
    return pageFrom(rows.map((row) => toNumberInfo(row, row.extension)), page, (n) => [n.account_id, n.number]);
  }

  private async requireAccount(accountId: number | undefined): Promise<void> {
    if (accountId !== undefined && !(await this.numbers.accountExists(accountId))) throw DomainError.notFound(`account ${accountId} not found`);
  }

  /** A free number (never seen, or released) to a user of `account_id`. */
  async assign(req: UsersNumberAssign.Request): Promise<NumberInfo> {
    const info = await this.numbers.transaction(async (tx) => {
      const user = await this.numbers.lockUser(tx, req.user);
      if (!user || user.accountId !== req.account_id) throw notInAccount(req.user, req.account_id);
      const row = await this.numbers.claim(tx, req.number, req.account_id, req.user);
      if (!row) throw alreadyAssigned(req.number);
      await this.outbox.append(tx, routingEvent(row, user.extension));
      return toNumberInfo(row, user.extension);
    });
    this.outboxSignal.eventsWritten();
    return info;
  }

  /**
   * An assigned number to another user: of the number's account, or of `account_id` (the number
   * moves to that account). Reassigning a number to the user it already rings changes nothing.
   */
  async reassign(req: UsersNumberReassign.Request): Promise<NumberInfo> {
    let changed = false;
    const info = await this.numbers.transaction(async (tx) => {
      const user = await this.numbers.lockUser(tx, req.user); // user before number: see NumbersRepository
      const current = await this.numbers.lockNumber(tx, req.number);
      if (!current || current.accountId === null) throw notAssigned(req.number);
      const accountId = req.account_id ?? current.accountId;
      if (!user || user.accountId !== accountId) throw notInAccount(req.user, accountId);
      if (current.username === user.username) return toNumberInfo(current, user.extension);
      const row = await this.numbers.reassign(tx, req.number, accountId, user.username);
      await this.outbox.append(tx, routingEvent(row, user.extension));
      changed = true;
      return toNumberInfo(row, user.extension);
    });
    if (changed) this.outboxSignal.eventsWritten();
    return info;
  }

  async release(number: string): Promise<null> {
    await this.numbers.transaction(async (tx) => {
      const row = await this.numbers.release(tx, number);
      if (!row) throw notAssigned(number);
      await this.outbox.append(tx, routingEvent(row, null));
    });
    this.outboxSignal.eventsWritten();
    return null;
  }

  /**
   * Inside the transaction that changed a user's extension (the user row is locked by it): a new
   * routing version of each of the user's numbers, so the PBX route follows the extension.
   * The caller nudges the relay after its commit. Returns how many numbers.
   */
  async extensionChanged(tx: Prisma.TransactionClient, username: string, extension: string): Promise<number> {
    const rows = await this.numbers.touchAllOf(tx, username);
    for (const row of rows) await this.outbox.append(tx, routingEvent(row, extension));
    return rows.length;
  }

  /**
   * Inside the transaction that deletes a user, before the delete (phone_numbers' foreign key
   * refuses to delete a user who still has numbers): releases them with their events. The caller
   * nudges the relay after its commit. Returns the released numbers.
   */
  async releaseAllOfUser(tx: Prisma.TransactionClient, username: string): Promise<string[]> {
    const rows = await this.numbers.releaseAllOf(tx, username);
    for (const row of rows) await this.outbox.append(tx, routingEvent(row, null));
    return rows.map((row) => row.number);
  }
}
