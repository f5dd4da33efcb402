import { NoopOutboxSignal, OutboxStore } from '@ringcloud/nest-outbox';
import { AccountsRepository } from './accounts/accounts.repository';
import { AccountsService } from './accounts/accounts.service';
import { ApiKeysRepository } from './api-keys/api-keys.repository';
import { ApiKeysService } from './api-keys/api-keys.service';
import { KeyChangeNotifier } from './api-keys/key-change-notifier';
import type { UsersConfig } from './config/users-config';
import { PrismaClient, createPrismaClient } from './infra/database';
import { NumbersRepository } from './numbers/numbers.repository';
import { NumbersService } from './numbers/numbers.service';
import { ApiKeySecrets } from './secrets/api-key-secrets';

/**
 * Accounts, API keys and inbound numbers straight on the database, without Nest or NATS (CLI,
 * start scripts, tests). Number changes write their events to the outbox; a running
 * users-service publishes them on its next sweep (OUTBOX_SWEEP_MS).
 */
export interface UsersCore {
  prisma: PrismaClient;
  accounts: AccountsService;
  apiKeys: ApiKeysService;
  numbers: NumbersService;
  close(): Promise<void>;
}

export function openUsersCore(config: Pick<UsersConfig, 'databaseUrl' | 'apiKeyPepper'>, notifier: KeyChangeNotifier): UsersCore {
  const prisma = createPrismaClient(config.databaseUrl, 2);
  const accountsRepository = new AccountsRepository(prisma);
  return {
    prisma,
    accounts: new AccountsService(accountsRepository),
    apiKeys: new ApiKeysService(new ApiKeysRepository(prisma), accountsRepository, new ApiKeySecrets(config.apiKeyPepper), notifier),
    numbers: new NumbersService(new NumbersRepository(prisma), new OutboxStore(prisma), new NoopOutboxSignal()),
    close: () => prisma.$disconnect(),
  };
}
