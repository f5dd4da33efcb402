import { PrismaClient } from '../infra/database';

export interface DirectoryEntry {
  accountId: number;
  num: string;
}

/**
 * Who is provisioned on the PBX: user → account and extension, from provisioned_users. Reads go
 * to the database; a copy in memory (loaded at start, refreshed periodically and on every
 * provisioning this process commits) serves the normaliser, which must answer synchronously.
 * The copy keeps deleted users (their past calls still map to an account) and knows which users
 * are live, so it can tell whether a number is an extension a phone of the account would ring.
 */
export class UserDirectory {
  private cache = new Map<string, DirectoryEntry>();
  /** Live users (an endpoint exists) by account, then extension. */
  private extensions = new Map<number, Map<string, Set<string>>>();
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

  /**
   * Whether `num` is the extension of a live user of the account; undefined when this copy knows
   * no live user of the account at all (not loaded yet, or another node's account).
   */
  isExtension(accountId: number, num: string): boolean | undefined {
    return this.extensions.get(accountId)?.has(num);
  }

  /** A user this process provisioned (created, renumbered): live at that extension. */
  remember(user: string, entry: DirectoryEntry): void {
    this.unindex(user);
    this.cache.set(user, entry);
    this.index(user, entry);
  }

  /** A user this process deprovisioned: kept for its past calls, no longer an extension. */
  forget(user: string): void {
    this.unindex(user);
  }

  async refresh(): Promise<void> {
    const [rows, endpoints] = await Promise.all([
      this.prisma.provisionedUser.findMany({ select: { user: true, accountId: true, num: true } }),
      this.prisma.psEndpoint.findMany({ select: { id: true } }),
    ]);
    const live = new Set(endpoints.map((e) => e.id));
    this.cache = new Map(rows.map((r) => [r.user, { accountId: r.accountId, num: r.num }]));
    this.extensions = new Map();
    for (const [user, entry] of this.cache) if (live.has(user)) this.index(user, entry);
  }

  startRefreshing(everyMs: number, onError: (err: Error) => void): void {
    this.timer = setInterval(() => void this.refresh().catch(onError), everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private index(user: string, entry: DirectoryEntry): void {
    const account = this.extensions.get(entry.accountId) ?? new Map<string, Set<string>>();
    this.extensions.set(entry.accountId, account);
    const users = account.get(entry.num) ?? new Set<string>();
    account.set(entry.num, users);
    users.add(user);
  }

  private unindex(user: string): void {
    const entry = this.cache.get(user);
    const account = entry && this.extensions.get(entry.accountId);
    const users = account?.get(entry!.num);
    if (!account || !users?.delete(user)) return;
    if (users.size === 0) account.delete(entry!.num);
    if (account.size === 0) this.extensions.delete(entry!.accountId);
  }
}
