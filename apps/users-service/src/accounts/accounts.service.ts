import { Injectable } from '@nestjs/common';
import { DomainError, Page, PageRequest, cursorAfter, pageFrom } from '@ringcloud/contracts-common';
import { Account, UsersAccountCreate } from '@ringcloud/contracts-users';
import { requesterGaveUp, requesterWaits } from '@ringcloud/nest-nats';
import { uniqueViolation } from '../infra/prisma-errors';
import { AccountRow, AccountsRepository } from './accounts.repository';

/** The first account id handed out when none is asked for. */
export const FIRST_ACCOUNT_ID = 1001;
const MAX_ACCOUNT_ID = 2_147_483_647;

@Injectable()
export class AccountsService {
  constructor(private readonly accounts: AccountsRepository) {}

  /**
   * Creates an account with the given id, or with the next id after the highest one (≥ 1001) —
   * the lowest free one once an operator gave an account the top id. Ids are never reused (accounts
   * are never deleted): an old key prefix must never name a new tenant — nor one its requester gave
   * up on (`deadline`), which its retry would make a second, for good.
   */
  async create(req: UsersAccountCreate.Request, deadline?: number): Promise<Account> {
    const name = req.name.trim();
    if (!name) throw DomainError.badRequest('name is required');
    if (req.account_id !== undefined) {
      try {
        return toAccount(await this.accounts.insert(req.account_id, name));
      } catch (err) {
        if (uniqueViolation(err)) throw DomainError.badRequest(`account ${req.account_id} already exists`);
        throw err;
      }
    }
    // Creators without an id take turns; an explicit id inserted meanwhile is the one clash left.
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const row = await this.accounts.insertNext(name, FIRST_ACCOUNT_ID, MAX_ACCOUNT_ID, () => {
          if (!requesterWaits(deadline)) throw requesterGaveUp('the account was created');
        });
        if (!row) throw DomainError.badRequest('no account id left');
        return toAccount(row);
      } catch (err) {
        if (!uniqueViolation(err)) throw err;
      }
    }
    throw DomainError.unavailable('could not allocate an account id, try again');
  }

  async list(): Promise<Account[]> {
    return (await this.accounts.list()).map(toAccount);
  }

  /** One page of `list` (ordered by account id), read page by page from the database. */
  async listPage(page: PageRequest): Promise<Page<Account>> {
    const after = cursorAfter(page, ['int']) as [number] | undefined;
    const rows = await this.accounts.list({ after: after?.[0], take: page.limit + 1 });
    return pageFrom(rows.map(toAccount), page, (a) => [a.account_id]);
  }

  /** Throws NOT_FOUND unless the account exists. */
  async require(id: number): Promise<void> {
    if (!(await this.accounts.find(id))) throw DomainError.notFound(`account ${id} not found`);
  }
}

export function toAccount(row: AccountRow): Account {
  return { account_id: row.id, name: row.name, created_at: row.createdAt.toISOString() };
}
