import { lastValueFrom, defer } from 'rxjs';
import { DatabaseUnavailableInterceptor, UNSTORABLE_TEXT_MESSAGE } from '@ringcloud/nest-prisma';
import { TestEnv } from '../testing/fixture';
import { AccountsRepository } from './accounts.repository';
import { AccountsService } from './accounts.service';

describe('AccountsService (PostgreSQL)', () => {
  let env: TestEnv;
  let accounts: AccountsService;

  beforeAll(async () => {
    env = await TestEnv.start({ nats: false });
    accounts = new AccountsService(new AccountsRepository(env.prisma));
  });
  afterAll(() => env.stop());

  it('starts numbering at 1001, then continues after the highest id', async () => {
    const first = await accounts.create({ name: 'Acme' });
    expect(first).toMatchObject({ account_id: 1001, name: 'Acme' });
    expect(new Date(first.created_at).toISOString()).toBe(first.created_at);
    expect(await accounts.create({ account_id: 2000, name: 'Given' })).toMatchObject({ account_id: 2000 });
    expect((await accounts.create({ name: 'Next' })).account_id).toBe(2001);
  });

  it('goes on allocating after an operator took the highest id: the lowest id no account has', async () => {
    // A separate database: the other tests count on ids continuing after the highest.
    const own = await TestEnv.start({ nats: false });
    try {
      const service = new AccountsService(new AccountsRepository(own.prisma));
      expect((await service.create({ name: 'first' })).account_id).toBe(1001);
      await service.create({ account_id: 1003, name: 'explicit' });
      await service.create({ account_id: 2_147_483_647, name: 'the top' });
      const next = await Promise.all(Array.from({ length: 3 }, (_, i) => service.create({ name: `after top ${i}` })));
      expect(next.map((a) => a.account_id).sort()).toEqual([1002, 1004, 1005]);
    } finally {
      await own.stop();
    }
  });

  it('refuses a taken id and an empty name', async () => {
    await expect(accounts.create({ account_id: 1001, name: 'Again' })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: 'account 1001 already exists',
    });
    await expect(accounts.create({ name: '   ' })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: 'name is required' });
  });

  it("answers BAD_REQUEST, not INTERNAL, when PostgreSQL refuses a name's text (the services' safety net)", async () => {
    // Past the contract's validation (a service called directly), PostgreSQL refuses the NUL with 22021.
    const interceptor = new DatabaseUnavailableInterceptor('users database is unavailable');
    const handled = interceptor.intercept({} as never, { handle: () => defer(() => accounts.create({ name: 'a\u0000b' })) });
    await expect(lastValueFrom(handled)).rejects.toMatchObject({ code: 'BAD_REQUEST', message: UNSTORABLE_TEXT_MESSAGE });
  });

  it('gives concurrent creators distinct ids', async () => {
    const created = await Promise.all(Array.from({ length: 6 }, (_, i) => accounts.create({ name: `Parallel ${i}` })));
    expect(new Set(created.map((a) => a.account_id)).size).toBe(6);
  });

  it('allocates ids one creator at a time: 40 at once all succeed at the first insert, with the next 40 ids', async () => {
    const repo = new AccountsRepository(env.prisma);
    const inserts = jest.spyOn(repo, 'insert');
    const service = new AccountsService(repo);
    const highest = Math.max(...(await service.list()).map((a) => a.account_id));
    const results = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => service.create({ name: `Burst ${i}` })));
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    const ids = results.map((r) => (r as PromiseFulfilledResult<{ account_id: number }>).value.account_id).sort((a, b) => a - b);
    expect(ids).toEqual(Array.from({ length: 40 }, (_, i) => highest + 1 + i));
    expect(inserts).toHaveBeenCalledTimes(40);
  });

  it('lists accounts by id', async () => {
    const ids = (await accounts.list()).map((a) => a.account_id);
    expect(ids.slice(0, 3)).toEqual([1001, 2000, 2001]);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
  });

  it('reads the list page by page from the database, by id, each account once', async () => {
    for (let i = 0; i < 5; i++) await accounts.create({ name: `paged ${i}` });
    const all = (await accounts.list()).map((a) => a.account_id);
    const seen: number[] = [];
    let cursor: string | undefined;
    for (let pages = 0; ; pages++) {
      expect(pages).toBeLessThan(all.length);
      const page = await accounts.listPage({ limit: 2, cursor });
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((a) => a.account_id));
      if (page.next_cursor === null) break;
      cursor = page.next_cursor;
    }
    expect(seen).toEqual(all);
    const numbersCursor = Buffer.from(JSON.stringify({ k: [1001, '74950000000'] })).toString('base64url');
    await expect(accounts.listPage({ limit: 2, cursor: numbersCursor })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    // Forged keys the column cannot hold are the client's error, not the database's.
    for (const k of [2 ** 31, -(2 ** 31) - 1, 1e300, 1.5]) {
      const forged = Buffer.from(JSON.stringify({ k: [k] })).toString('base64url');
      await expect(accounts.listPage({ limit: 2, cursor: forged })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    }
  });
});
