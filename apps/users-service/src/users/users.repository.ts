import { Inject, Injectable } from '@nestjs/common';
import { PRISMA, Prisma, PrismaClient } from '../infra/database';
import { isRecordNotFound } from '../infra/prisma-errors';

export interface UserRow {
  username: string;
  accountId: number;
  extension: string;
  email: string;
  voicemail: boolean;
  sipPasswordEnc: string;
  version: number;
}
export type UserFields = Partial<Pick<UserRow, 'extension' | 'email' | 'voicemail' | 'sipPasswordEnc'>>;

/** Users table access; every read and write is scoped by account. */
@Injectable()
export class UsersRepository {
  constructor(@Inject(PRISMA) private readonly prisma: PrismaClient) {}

  findInAccount(accountId: number, username: string): Promise<UserRow | null> {
    return this.prisma.user.findFirst({ where: { accountId, username } });
  }

  listInAccount(accountId: number): Promise<UserRow[]> {
    return this.prisma.user.findMany({ where: { accountId } });
  }

  insert(tx: Prisma.TransactionClient, row: Omit<UserRow, 'version'>, createRequest: string | null = null): Promise<UserRow> {
    return tx.user.create({ data: { ...row, version: 1, createRequest } });
  }

  /** The user an earlier create request with this digest made, if it still exists. */
  findCreatedBy(accountId: number, createRequest: string): Promise<UserRow | null> {
    return this.prisma.user.findFirst({ where: { accountId, createRequest } });
  }

  /** Applies `fields` and bumps the version; null when the user is not in this account. */
  async update(tx: Prisma.TransactionClient, accountId: number, username: string, fields: UserFields): Promise<UserRow | null> {
    try {
      return await tx.user.update({ where: { username, accountId }, data: { ...fields, version: { increment: 1 } } });
    } catch (err) {
      if (isRecordNotFound(err)) return null;
      throw err;
    }
  }

  /** The user row, locked for the rest of the transaction; null when not in this account. */
  async lockInAccount(tx: Prisma.TransactionClient, accountId: number, username: string): Promise<UserRow | null> {
    const rows = await tx.$queryRaw<Array<{ username: string }>>`SELECT username FROM users WHERE username = ${username} AND account_id = ${accountId} FOR UPDATE`;
    return rows.length ? tx.user.findUnique({ where: { username } }) : null;
  }

  /** Removes the row and leaves its tombstone (the user name stays taken). */
  async deleteWithTombstone(tx: Prisma.TransactionClient, row: UserRow, version: number): Promise<void> {
    await tx.deletedUser.create({ data: { username: row.username, accountId: row.accountId, extension: row.extension, version } });
    await tx.user.delete({ where: { username: row.username } });
  }

  /** Whether a user name was ever given (a live user or a tombstone). */
  async isTaken(tx: Prisma.TransactionClient, username: string): Promise<boolean> {
    return (await tx.deletedUser.count({ where: { username } })) > 0;
  }

  transaction<T>(work: (tx: Prisma.TransactionClient) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(work);
  }
}
