import { Inject, Injectable } from '@nestjs/common';
import { lockByName } from '@ringcloud/nest-prisma';
import { PRISMA, Prisma, PrismaClient } from '../infra/database';

export type AccountRow = { id: number; name: string; createdAt: Date };
type Db = PrismaClient | Prisma.TransactionClient;

/** Accounts table access. Methods take an optional transaction client to join a caller's transaction. */
@Injectable()
export class AccountsRepository {
  constructor(@Inject(PRISMA) private readonly prisma: PrismaClient) {}

  find(id: number, db: Db = this.prisma): Promise<AccountRow | null> {
    return db.account.findUnique({ where: { id } });
  }

  /** Ordered by id: all, or (`page`) at most `take` with an id above `after`. */
  list(page?: { after?: number; take: number }): Promise<AccountRow[]> {
    return this.prisma.account.findMany({
      where: page?.after === undefined ? undefined : { id: { gt: page.after } },
      orderBy: { id: 'asc' },
      take: page?.take,
    });
  }

  /** Throws Prisma's unique violation (P2002) if the id is taken. */
  insert(id: number, name: string, db: Db = this.prisma): Promise<AccountRow> {
    return db.account.create({ data: { id, name } });
  }

  /** Inserts unless an account with this id exists (ON CONFLICT DO NOTHING); never throws on a race. */
  async insertIfMissing(id: number, name: string, db: Db = this.prisma): Promise<void> {
    await db.account.createMany({ data: [{ id, name }], skipDuplicates: true });
  }

  /**
   * Inserts under the next id after the highest (at least `first`), one allocator at a time (a
   * transaction-scoped advisory lock): concurrent creators queue instead of clashing and retrying.
   * When the highest is `max` (an operator gave an account that id), the lowest id from `first` no
   * account has: accounts are never deleted, so a free id never named a tenant. Null when none is
   * left. Throws P2002 only if an explicit id was inserted meanwhile. `beforeCommit` may throw to
   * take the insert back.
   */
  insertNext(name: string, first: number, max: number, beforeCommit?: () => void): Promise<AccountRow | null> {
    return this.prisma.$transaction(async (tx) => {
      await lockByName(tx, 'users-account-id');
      const { _max } = await tx.account.aggregate({ _max: { id: true } });
      const next = Math.max(first, (_max.id ?? 0) + 1);
      const id = next <= max ? next : await this.lowestFree(first, max, tx);
      if (id === null) return null;
      const row = await this.insert(id, name, tx);
      beforeCommit?.();
      return row;
    });
  }

  private async lowestFree(first: number, max: number, db: Db): Promise<number | null> {
    const rows = await db.$queryRaw<Array<{ id: bigint }>>`
      SELECT c.id FROM (SELECT ${first}::bigint AS id UNION ALL SELECT id::bigint + 1 FROM accounts WHERE id >= ${first}) c
      WHERE c.id <= ${max} AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = c.id)
      ORDER BY c.id LIMIT 1`;
    return rows.length ? Number(rows[0].id) : null;
  }
}
