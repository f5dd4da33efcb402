import { PrismaClient } from '../infra/database';

export interface DirectoryEntry {
  accountId: number;
  num: string;
}

/**
 * Who is provisioned on the PBX: user → account and extension, from provisioned_users. Reads go
 * to the database; a copy in memory (loaded at start, refreshed periodically and on every
 * provisioning this process commits) serves the normaliser, which must answer synchronously.
 */
export class UserDirectory {
  private cache = new Map<string, DirectoryEntry>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly prisma: PrismaClient) {}

  /**
   * The user as provisioned on the PBX now: undefined when never provisioned or deleted (a deleted
   * user's row stays, with the deletion's version; its endpoint goes). The registrations alone do not
   * tell: a deleted user's phone may keep its contact until it expires. Leaves the cache alone.
   */
  async provisioned(user: string): Promise<DirectoryEntry | undefined> {
    const [row, endpoints] = await Promise.all([
      this.prisma.provisionedUser.findUnique({ where: { user }, select: { accountId: true, num: true } }),
      this.prisma.psEndpoint.count({ where: { id: user } }),
    ]);
    return row && endpoints > 0 ? row : undefined;
  }

  /** The in-memory view (possibly a little stale). */
  cached(user: string): DirectoryEntry | undefined {
    return this.cache.get(user);
  }

  remember(user: string, entry: DirectoryEntry): void {
    this.cache.set(user, entry);
  }

  async refresh(): Promise<void> {
    const rows = await this.prisma.provisionedUser.findMany({ select: { user: true, accountId: true, num: true } });
    this.cache = new Map(rows.map((r) => [r.user, { accountId: r.accountId, num: r.num }]));
  }

  startRefreshing(everyMs: number, onError: (err: Error) => void): void {
    this.timer = setInterval(() => void this.refresh().catch(onError), everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
