import { AccountsRepository } from './accounts/accounts.repository';
import { AccountsService } from './accounts/accounts.service';
import { ApiKeysRepository } from './api-keys/api-keys.repository';
import { ApiKeysService } from './api-keys/api-keys.service';
import { KeyChangeNotifier } from './api-keys/key-change-notifier';
import type { UsersConfig } from './config/users-config';
import { PrismaClient, createPrismaClient } from './infra/database';
import { ApiKeySecrets } from './secrets/api-key-secrets';

/** Accounts and API keys straight on the database, without Nest or NATS (CLI, start scripts, tests). */
export interface UsersCore {
  prisma: PrismaClient;
  accounts: AccountsService;
  apiKeys: ApiKeysService;
  close(): Promise<void>;
}

export function openUsersCore(config: Pick<UsersConfig, 'databaseUrl' | 'apiKeyPepper'>, notifier: KeyChangeNotifier): UsersCore {
  const prisma = createPrismaClient(config.databaseUrl, 2);
  const accountsRepository = new AccountsRepository(prisma);
  return {
    prisma,
    accounts: new AccountsService(accountsRepository),
    apiKeys: new ApiKeysService(new ApiKeysRepository(prisma), accountsRepository, new ApiKeySecrets(config.apiKeyPepper), notifier),
    close: () => prisma.$disconnect(),
  };
}
