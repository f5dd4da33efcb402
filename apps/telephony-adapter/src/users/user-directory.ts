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
   * The user as provisioned on the PBX now: undefined when never provisioned or deleted. Read from
   * the database (not the cache). The registrations alone do not tell: a deleted user's phone may
   * keep its contact until it expires.
   */
  async provisioned(user: string): Promise<DirectoryEntry | undefined> {
    const rows = await this.live({ user });
    return rows[0] && { accountId: rows[0].accountId, num: rows[0].num };
  }

  /** The account's users provisioned on the PBX now (not deleted ones), by name. */
  async provisionedIn(accountId: number): Promise<Array<{ user: string; num: string }>> {
    return (await this.live({ accountId })).map(({ user, num }) => ({ user, num }));
  }

  /**
   * Rows of provisioned_users whose endpoint exists: a deleted user keeps its row (with the
   * deletion's version, so a late create is stale), only its endpoint goes.
   */
  private async live(where: { user: string } | { accountId: number }) {
    // One user (the originate's path): both reads at once; an account: its users' endpoints after.
    const [rows, endpointsOfUser] = await Promise.all([
      this.prisma.provisionedUser.findMany({ where, select: { user: true, accountId: true, num: true }, orderBy: { user: 'asc' } }),
      'user' in where ? this.endpoints([where.user]) : undefined,
    ]);
    const present = endpointsOfUser ?? (await this.endpoints(rows.map((r) => r.user)));
    return rows.filter((r) => present.has(r.user));
  }

  private async endpoints(ids: string[]): Promise<Set<string>> {
    if (!ids.length) return new Set();
    const rows = await this.prisma.psEndpoint.findMany({ where: { id: { in: ids } }, select: { id: true } });
    return new Set(rows.map((r) => r.id));
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
