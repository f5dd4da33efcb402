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
import { SipPasswordCipher } from './secrets/sip-password-cipher';
import { UsersRepository } from './users/users.repository';
import { UsersService } from './users/users.service';

/**
 * Accounts, API keys, inbound numbers and users straight on the database, without Nest or NATS
 * (CLI, start scripts, tests): the same services the NATS handlers call. Number and user changes
 * write their events to the outbox; a running users-service publishes them on its next sweep
 * (OUTBOX_SWEEP_MS).
 */
export interface UsersCore {
  prisma: PrismaClient;
  accounts: AccountsService;
  apiKeys: ApiKeysService;
  numbers: NumbersService;
  users: UsersService;
  close(): Promise<void>;
}

export function openUsersCore(
  config: Pick<UsersConfig, 'databaseUrl' | 'apiKeyPepper' | 'sipSecretKey' | 'sipRealm'>,
  notifier: KeyChangeNotifier,
): UsersCore {
  const prisma = createPrismaClient(config.databaseUrl, 2);
  const accountsRepository = new AccountsRepository(prisma);
  const outbox = new OutboxStore(prisma);
  const signal = new NoopOutboxSignal();
  const numbers = new NumbersService(new NumbersRepository(prisma), outbox, signal);
  return {
    prisma,
    accounts: new AccountsService(accountsRepository),
    apiKeys: new ApiKeysService(new ApiKeysRepository(prisma), accountsRepository, new ApiKeySecrets(config.apiKeyPepper), notifier),
    numbers,
    users: new UsersService(new UsersRepository(prisma), outbox, new SipPasswordCipher(config.sipSecretKey), config.sipRealm, signal, numbers),
    close: () => prisma.$disconnect(),
  };
}
