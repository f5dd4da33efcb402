import { Inject, Injectable } from '@nestjs/common';
import { Prisma } from '../generated/prisma/client';
import { PRISMA, PrismaClient } from '../infra/database';

/** A phone_numbers row. `accountId`/`username`/`assignedAt` are null while the number is released. */
export interface NumberRow {
  number: string;
  accountId: number | null;
  username: string | null;
  version: number;
  assignedAt: Date | null;
  updatedAt: Date;
}

/** An assigned number with the extension of its user (for listings). */
export interface AssignedNumberRow extends NumberRow {
  accountId: number;
  username: string;
  assignedAt: Date;
  extension: string;
}

/** The user a number is given to, locked for the rest of the transaction. */
export interface LockedUser {
  username: string;
  accountId: number;
  extension: string;
}

type Tx = Prisma.TransactionClient;

const COLUMNS = Prisma.sql`number, account_id AS "accountId", "user" AS username, version, assigned_at AS "assignedAt", updated_at AS "updatedAt"`;

/**
 * phone_numbers access. Writers lock in one order — the user row first, then the number row — as
 * update_extension does (UPDATE users, then the user's numbers), so no two writers deadlock.
 */
@Injectable()
export class NumbersRepository {
  constructor(@Inject(PRISMA) private readonly prisma: PrismaClient) {}

  /**
   * Assigned numbers (all, or one account's), ordered by account and number: all of them, or
   * (`page`) at most `take` after the key `after` — keyset paging on the (account_id, number) index.
   */
  async listAssigned(accountId?: number, page?: { after?: readonly [number, string]; take: number }): Promise<AssignedNumberRow[]> {
    const after = page?.after;
    const rows = await this.prisma.phoneNumber.findMany({
      where: {
        accountId: accountId ?? { not: null },
        username: { not: null },
        ...(after && { OR: [{ accountId: { gt: after[0] } }, { accountId: after[0], number: { gt: after[1] } }] }),
      },
      include: { user: { select: { extension: true } } },
      orderBy: [{ accountId: 'asc' }, { number: 'asc' }],
      take: page?.take,
    });
    return rows.flatMap(({ user, ...row }) => (user && row.accountId !== null && row.username !== null && row.assignedAt ? [{ ...row, extension: user.extension } as AssignedNumberRow] : []));
  }

  async accountExists(accountId: number): Promise<boolean> {
    return (await this.prisma.account.count({ where: { id: accountId } })) > 0;
  }

  /**
   * The user, share-locked until the transaction ends: its extension cannot change (nor the user
   * disappear) between reading it here and the commit, so the routing event carries the current one.
   */
  async lockUser(tx: Tx, username: string): Promise<LockedUser | null> {
    const rows = await tx.$queryRaw<LockedUser[]>`
      SELECT username, account_id AS "accountId", extension FROM users WHERE username = ${username} FOR SHARE`;
    return rows[0] ?? null;
  }

  async lockNumber(tx: Tx, number: string): Promise<NumberRow | null> {
    const rows = await tx.$queryRaw<NumberRow[]>`SELECT ${COLUMNS} FROM phone_numbers WHERE number = ${number} FOR UPDATE`;
    return rows[0] ?? null;
  }

  /**
   * Assigns a free number in one statement: a new row (version 1), or a released row taken over
   * (version + 1). Null when the number is assigned already. Two concurrent claims of one number
   * serialize on its primary key; the second sees the first's row and gets null.
   */
  async claim(tx: Tx, number: string, accountId: number, username: string): Promise<NumberRow | null> {
    const rows = await tx.$queryRaw<NumberRow[]>`
      INSERT INTO phone_numbers AS p (number, account_id, "user", version, assigned_at, updated_at)
      VALUES (${number}, ${accountId}, ${username}, 1, now(), now())
      ON CONFLICT (number) DO UPDATE
        SET account_id = EXCLUDED.account_id, "user" = EXCLUDED."user", version = p.version + 1,
            assigned_at = EXCLUDED.assigned_at, updated_at = EXCLUDED.updated_at
        WHERE p.account_id IS NULL
      RETURNING ${COLUMNS}`;
    return rows[0] ?? null;
  }

  /** Gives an assigned number (locked by lockNumber) to another user; a new assignment, so assigned_at restarts. */
  async reassign(tx: Tx, number: string, accountId: number, username: string): Promise<NumberRow> {
    const rows = await tx.$queryRaw<NumberRow[]>`
      UPDATE phone_numbers SET account_id = ${accountId}, "user" = ${username}, version = version + 1, assigned_at = now(), updated_at = now()
      WHERE number = ${number}
      RETURNING ${COLUMNS}`;
    return rows[0];
  }

  /** Releases a number; null when it is not assigned. The row (and its version) stays. */
  async release(tx: Tx, number: string): Promise<NumberRow | null> {
    const rows = await tx.$queryRaw<NumberRow[]>`
      UPDATE phone_numbers SET account_id = NULL, "user" = NULL, assigned_at = NULL, version = version + 1, updated_at = now()
      WHERE number = ${number} AND account_id IS NOT NULL
      RETURNING ${COLUMNS}`;
    return rows[0] ?? null;
  }

  /** Releases every number of a user (before the user is deleted); returns the released rows. */
  releaseAllOf(tx: Tx, username: string): Promise<NumberRow[]> {
    return tx.$queryRaw<NumberRow[]>`
      UPDATE phone_numbers SET account_id = NULL, "user" = NULL, assigned_at = NULL, version = version + 1, updated_at = now()
      WHERE "user" = ${username}
      RETURNING ${COLUMNS}`;
  }

  /** A new version of every number of a user (its extension changed); returns them, by number. */
  async touchAllOf(tx: Tx, username: string): Promise<NumberRow[]> {
    const rows = await tx.$queryRaw<NumberRow[]>`
      UPDATE phone_numbers SET version = version + 1, updated_at = now()
      WHERE "user" = ${username}
      RETURNING ${COLUMNS}`;
    return rows.sort((a, b) => a.number.localeCompare(b.number));
  }

  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(work);
  }
}
