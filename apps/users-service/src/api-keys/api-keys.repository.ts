import { Inject, Injectable } from '@nestjs/common';
import type { Access } from '@ringcloud/contracts-common';
import { PRISMA, Prisma, PrismaClient } from '../infra/database';
import type { StoredSecret } from '../secrets/api-key-secrets';

export interface ApiKeyRow extends StoredSecret {
  key: string;
  accountId: number;
  access: Access;
  enabled: boolean;
  createdAt: Date;
  passwordChangedAt: Date;
}
type Db = PrismaClient | Prisma.TransactionClient;

@Injectable()
export class ApiKeysRepository {
  constructor(@Inject(PRISMA) private readonly prisma: PrismaClient) {}

  find(key: string, db: Db = this.prisma): Promise<ApiKeyRow | null> {
    return db.apiKey.findUnique({ where: { key } });
  }

  listForAccount(accountId: number): Promise<ApiKeyRow[]> {
    return this.prisma.apiKey.findMany({ where: { accountId }, orderBy: [{ createdAt: 'asc' }, { key: 'asc' }] });
  }

  insert(row: { key: string; accountId: number; access: Access } & StoredSecret, db: Db = this.prisma): Promise<ApiKeyRow> {
    return db.apiKey.create({ data: row });
  }

  /** Null when no such key. */
  /** Null when no such key (in `accountId`, when given). */
  async setEnabled(key: string, enabled: boolean, db: Db = this.prisma, accountId?: number): Promise<ApiKeyRow | null> {
    const { count } = await db.apiKey.updateMany({ where: { key, accountId }, data: { enabled } });
    return count ? db.apiKey.findUnique({ where: { key } }) : null;
  }

  async replaceSecret(key: string, secret: StoredSecret, accountId?: number, db: Db = this.prisma): Promise<ApiKeyRow | null> {
    const { count } = await db.apiKey.updateMany({ where: { key, accountId }, data: { ...secret, passwordChangedAt: new Date() } });
    return count ? this.find(key, db) : null;
  }

  async delete(key: string, db: Db = this.prisma, accountId?: number): Promise<boolean> {
    const { count } = await db.apiKey.deleteMany({ where: { key, accountId } });
    return count > 0;
  }

  /**
   * Locks the account's row until the transaction ends: owner-scoped changes of one account's keys
   * (create under a cap, disable/delete under the "one enabled RW key" rule) run one at a time, so
   * two keys disabling each other concurrently cannot both succeed. False when there is no such account.
   */
  async lockAccount(tx: Prisma.TransactionClient, accountId: number): Promise<boolean> {
    const rows = await tx.$queryRaw<Array<{ id: number }>>`SELECT id FROM accounts WHERE id = ${accountId} FOR UPDATE`;
    return rows.length > 0;
  }

  findInAccount(key: string, accountId: number, db: Db = this.prisma): Promise<ApiKeyRow | null> {
    return db.apiKey.findFirst({ where: { key, accountId } });
  }

  countForAccount(accountId: number, db: Db = this.prisma): Promise<number> {
    return db.apiKey.count({ where: { accountId } });
  }

  /** Enabled RW keys of the account other than `exceptKey`. */
  countOtherEnabledRw(accountId: number, exceptKey: string, db: Db = this.prisma): Promise<number> {
    return db.apiKey.count({ where: { accountId, access: 'RW', enabled: true, key: { not: exceptKey } } });
  }

  transaction<T>(work: (tx: Prisma.TransactionClient) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(work);
  }
}
