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

  find(key: string): Promise<ApiKeyRow | null> {
    return this.prisma.apiKey.findUnique({ where: { key } });
  }

  listForAccount(accountId: number): Promise<ApiKeyRow[]> {
    return this.prisma.apiKey.findMany({ where: { accountId }, orderBy: [{ createdAt: 'asc' }, { key: 'asc' }] });
  }

  insert(row: { key: string; accountId: number; access: Access } & StoredSecret, db: Db = this.prisma): Promise<ApiKeyRow> {
    return db.apiKey.create({ data: row });
  }

  /** Null when no such key. */
  async setEnabled(key: string, enabled: boolean): Promise<ApiKeyRow | null> {
    const { count } = await this.prisma.apiKey.updateMany({ where: { key }, data: { enabled } });
    return count ? this.find(key) : null;
  }

  async replaceSecret(key: string, secret: StoredSecret): Promise<ApiKeyRow | null> {
    const { count } = await this.prisma.apiKey.updateMany({ where: { key }, data: { ...secret, passwordChangedAt: new Date() } });
    return count ? this.find(key) : null;
  }

  async delete(key: string): Promise<boolean> {
    const { count } = await this.prisma.apiKey.deleteMany({ where: { key } });
    return count > 0;
  }

  transaction<T>(work: (tx: Prisma.TransactionClient) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(work);
  }
}
