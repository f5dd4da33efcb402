import { NumberRouting } from '@ringcloud/contracts-users';
import { NoopOutboxSignal, OutboxStore } from '@ringcloud/nest-outbox';
import { SipPasswordCipher } from '../secrets/sip-password-cipher';
import { TEST_SIP_KEY, TestEnv } from '../testing/fixture';
import { UsersRepository } from '../users/users.repository';
import { UsersService } from '../users/users.service';
import { NumbersRepository } from './numbers.repository';
import { NumbersService } from './numbers.service';

describe('NumbersService (PostgreSQL)', () => {
  let env: TestEnv;
  let numbers: NumbersService;
  let users: UsersService;
  let signals = 0;
  const A = 5001;
  const B = 5002;
  let ext = 100;
  const newUser = (account: number, num = String(++ext)) => users.create({ account_id: account, password: 'Str0ngPass', num, mail: `u${num}@example.com` });

  beforeAll(async () => {
    env = await TestEnv.start({ nats: false });
    const outbox = new OutboxStore(env.prisma);
    const signal = { eventsWritten: () => void signals++ };
    numbers = new NumbersService(new NumbersRepository(env.prisma), outbox, signal);
    users = new UsersService(new UsersRepository(env.prisma), outbox, new SipPasswordCipher(TEST_SIP_KEY), 'ringcloud', new NoopOutboxSignal(), numbers);
    await env.prisma.account.createMany({ data: [{ id: A, name: 'A' }, { id: B, name: 'B' }] });
  });
  afterAll(() => env.stop());

  /** The routing events of one number in the outbox, oldest first (by version: rows written in one millisecond tie on created_at). */
  const eventsOf = async (number: string) =>
    (await env.prisma.outboxEvent.findMany({ where: { subject: { startsWith: 'users.number.' } } }))
      .map((row) => ({ id: row.id, subject: row.subject, payload: NumberRouting.parse(row.payload) }))
      .filter((e) => e.payload.number === number)
      .sort((a, b) => a.payload.version - b.payload.version);

  const row = (number: string) => env.prisma.phoneNumber.findUniqueOrThrow({ where: { number } });

  it('assigns a free number to a user of the account and writes users.number.assigned in the same transaction', async () => {
    const user = await newUser(A, '401');
    const before = signals;
    const info = await numbers.assign({ number: '74951230001', account_id: A, user });
    expect(info).toEqual({
      number: '74951230001',
      account_id: A,
      user,
      num: '401',
      assigned_at: expect.any(String),
      updated_at: expect.any(String),
    });
    expect(new Date(info.assigned_at).toISOString()).toBe(info.assigned_at);
    expect(signals).toBe(before + 1);

    const events = await eventsOf('74951230001');
    expect(events).toHaveLength(1);
    expect(events[0]).toEqual({
      id: events[0].payload.event_id,
      subject: 'users.number.assigned',
      payload: { event_id: expect.any(String), occurred_at: expect.any(String), version: 1, number: '74951230001', account_id: A, user, num: '401' },
    });
    expect(await row('74951230001')).toMatchObject({ accountId: A, username: user, version: 1 });
  });

  it('refuses a number that is already assigned, a user of another account, and an unknown user or account, writing nothing', async () => {
    const [a1, a2, b1] = [await newUser(A), await newUser(A), await newUser(B)];
    await numbers.assign({ number: '74951230002', account_id: A, user: a1 });
    const outboxBefore = await env.prisma.outboxEvent.count();

    for (const [account, user] of [[A, a2], [A, a1], [B, b1]] as const) {
      await expect(numbers.assign({ number: '74951230002', account_id: account, user })).rejects.toMatchObject({
        code: 'BAD_REQUEST',
        message: 'number 74951230002 is already assigned',
      });
    }
    await expect(numbers.assign({ number: '74951230003', account_id: A, user: b1 })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: `user ${b1} not found in account ${A}`,
    });
    await expect(numbers.assign({ number: '74951230003', account_id: A, user: '1000000000' })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: `user 1000000000 not found in account ${A}`,
    });
    await expect(numbers.assign({ number: '74951230003', account_id: 5999, user: a1 })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: `user ${a1} not found in account 5999`,
    });

    expect(await env.prisma.outboxEvent.count()).toBe(outboxBefore);
    expect(await env.prisma.phoneNumber.findUnique({ where: { number: '74951230003' } })).toBeNull();
    expect(await row('74951230002')).toMatchObject({ accountId: A, username: a1, version: 1 });
  });

  it('reassigns within the account, and to another account with account_id, one version and one event each', async () => {
    const [a1, a2, b1] = [await newUser(A, '411'), await newUser(A, '412'), await newUser(B, '413')];
    const assigned = await numbers.assign({ number: '74951230010', account_id: A, user: a1 });

    const moved = await numbers.reassign({ number: '74951230010', user: a2 });
    expect(moved).toMatchObject({ number: '74951230010', account_id: A, user: a2, num: '412' });
    expect(moved.assigned_at >= assigned.assigned_at).toBe(true);

    // Without account_id the user must be of the number's account.
    await expect(numbers.reassign({ number: '74951230010', user: b1 })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: `user ${b1} not found in account ${A}`,
    });
    await expect(numbers.reassign({ number: '74951230010', user: a1, account_id: B })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: `user ${a1} not found in account ${B}`,
    });
    expect(await numbers.reassign({ number: '74951230010', user: b1, account_id: B })).toMatchObject({ account_id: B, user: b1, num: '413' });

    const events = await eventsOf('74951230010');
    expect(events.map((e) => [e.subject, e.payload.version, e.payload.account_id, e.payload.user, e.payload.num])).toEqual([
      ['users.number.assigned', 1, A, a1, '411'],
      ['users.number.assigned', 2, A, a2, '412'],
      ['users.number.assigned', 3, B, b1, '413'],
    ]);
  });

  it('reassigning a number to the user it already rings changes nothing', async () => {
    const a1 = await newUser(A);
    const assigned = await numbers.assign({ number: '74951230011', account_id: A, user: a1 });
    const before = signals;
    expect(await numbers.reassign({ number: '74951230011', user: a1 })).toEqual(assigned);
    expect(await numbers.reassign({ number: '74951230011', user: a1, account_id: A })).toEqual(assigned);
    expect(signals).toBe(before);
    expect(await eventsOf('74951230011')).toHaveLength(1);
  });

  it('releases a number, keeping its row and counter, and a later assign continues the version', async () => {
    const [a1, b1] = [await newUser(A, '421'), await newUser(B, '422')];
    await numbers.assign({ number: '74951230020', account_id: A, user: a1 });
    expect(await numbers.release('74951230020')).toBeNull();
    expect(await row('74951230020')).toMatchObject({ accountId: null, username: null, assignedAt: null, version: 2 });
    expect((await numbers.list()).map((n) => n.number)).not.toContain('74951230020');

    const notAssigned = { code: 'NOT_FOUND', message: 'number 74951230020 is not assigned' };
    await expect(numbers.release('74951230020')).rejects.toEqual(expect.objectContaining(notAssigned));
    await expect(numbers.reassign({ number: '74951230020', user: a1 })).rejects.toEqual(expect.objectContaining(notAssigned));
    await expect(numbers.release('74951239999')).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'number 74951239999 is not assigned' });
    await expect(numbers.reassign({ number: '74951239999', user: a1 })).rejects.toMatchObject({ code: 'NOT_FOUND' });

    // Released numbers go to any account.
    expect(await numbers.assign({ number: '74951230020', account_id: B, user: b1 })).toMatchObject({ account_id: B, user: b1, num: '422' });
    const events = await eventsOf('74951230020');
    expect(events.map((e) => e.payload)).toEqual([
      expect.objectContaining({ version: 1, account_id: A, user: a1, num: '421' }),
      expect.objectContaining({ version: 2, account_id: null, user: null, num: null }),
      expect.objectContaining({ version: 3, account_id: B, user: b1, num: '422' }),
    ]);
    expect(events.map((e) => e.subject)).toEqual(['users.number.assigned', 'users.number.released', 'users.number.assigned']);
  });

  it("lists assigned numbers, all or one account's, with the user's extension; an unknown account is NOT_FOUND", async () => {
    const C = 5003;
    await env.prisma.account.create({ data: { id: C, name: 'C' } });
    const [c1, c2] = [await newUser(C, '31'), await newUser(C, '32')];
    await numbers.assign({ number: '4930123456', account_id: C, user: c2 });
    await numbers.assign({ number: '12025550100', account_id: C, user: c1 });
    await numbers.assign({ number: '12025550101', account_id: C, user: c1 });
    await numbers.release('12025550101');

    const listed = await numbers.list(C);
    expect(listed.map((n) => [n.number, n.user, n.num])).toEqual([
      ['12025550100', c1, '31'],
      ['4930123456', c2, '32'],
    ]);
    for (const n of listed) expect(Object.keys(n).sort()).toEqual(['account_id', 'assigned_at', 'num', 'number', 'updated_at', 'user']);

    const all = await numbers.list();
    expect(all.map((n) => n.account_id)).toEqual([...all.map((n) => n.account_id)].sort((x, y) => x - y));
    expect(all.filter((n) => n.account_id === C)).toEqual(listed);
    expect(all.some((n) => n.account_id === A)).toBe(true);
    await expect(numbers.list(5999)).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'account 5999 not found' });
    expect(await numbers.list(B)).toEqual(expect.any(Array));
  });

  it('reads the list page by page from the database: every assigned number once, in order, a page costing at most limit + 1 rows', async () => {
    const [D, E] = [5004, 5005];
    await env.prisma.account.createMany({ data: [{ id: D, name: 'D' }, { id: E, name: 'E' }] });
    const [d1, e1] = [await newUser(D, '41'), await newUser(E, '51')];
    for (let i = 0; i < 7; i++) await numbers.assign({ number: `7495000${i}0${i}`, account_id: i % 2 ? D : E, user: i % 2 ? d1 : e1 });
    await numbers.release('7495000303');
    const repository = (numbers as unknown as { numbers: NumbersRepository }).numbers;
    const read: number[] = [];
    const listAssigned = repository.listAssigned.bind(repository);
    const spy = jest.spyOn(repository, 'listAssigned').mockImplementation(async (...args) => {
      const rows = await listAssigned(...args);
      read.push(rows.length);
      return rows;
    });
    try {
      const walk = async (accountId: number | undefined, limit: number) => {
        const seen: string[] = [];
        let cursor: string | undefined;
        for (let pages = 0; pages < 100; pages++) {
          const page = await numbers.listPage(accountId, { limit, cursor });
          seen.push(...page.items.map((n) => n.number));
          if (page.next_cursor === null) return seen;
          cursor = page.next_cursor;
        }
        throw new Error('no last page');
      };
      spy.mockClear();
      read.length = 0;
      const all = (await numbers.list()).map((n) => n.number);
      expect(all.length).toBeGreaterThanOrEqual(6);
      read.length = 0;
      expect(await walk(undefined, 2)).toEqual(all);
      expect(Math.max(...read)).toBeLessThanOrEqual(3);
      expect(await walk(D, 2)).toEqual((await numbers.list(D)).map((n) => n.number));
      expect(await walk(E, 1000)).toEqual(['7495000000', '7495000202', '7495000404', '7495000606']);
      // Another list's cursor (another key shape) and a forged one are refused.
      const usersCursor = Buffer.from(JSON.stringify({ k: [41, '41', d1] })).toString('base64url');
      await expect(numbers.listPage(undefined, { limit: 2, cursor: usersCursor })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      await expect(numbers.listPage(undefined, { limit: 2, cursor: 'bm90LWpzb24' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      for (const k of [2 ** 31, 1e300, 0.5]) {
        const forged = Buffer.from(JSON.stringify({ k: [k, '7495000000'] })).toString('base64url');
        await expect(numbers.listPage(undefined, { limit: 2, cursor: forged })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      }
      await expect(numbers.listPage(5999, { limit: 2 })).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'account 5999 not found' });
    } finally {
      spy.mockRestore();
    }
  });

  it("sends a new version of each of a user's numbers when its extension changes, and only then", async () => {
    const [a1, a2] = [await newUser(A, '431'), await newUser(A, '432')];
    await numbers.assign({ number: '74951230030', account_id: A, user: a1 });
    await numbers.assign({ number: '74951230031', account_id: A, user: a1 });
    await numbers.assign({ number: '74951230032', account_id: A, user: a2 });

    await users.update(A, a1, { mail: 'changed@example.com' });
    await users.update(A, a1, { password: 'An0therPass' });
    await users.update(A, a1, { num: '439' });

    for (const number of ['74951230030', '74951230031']) {
      expect((await eventsOf(number)).map((e) => [e.subject, e.payload.version, e.payload.user, e.payload.num])).toEqual([
        ['users.number.assigned', 1, a1, '431'],
        ['users.number.assigned', 2, a1, '439'],
      ]);
    }
    expect((await eventsOf('74951230032')).map((e) => e.payload.version)).toEqual([1]);
    expect((await numbers.list(A)).find((n) => n.number === '74951230030')).toMatchObject({ num: '439' });

    // A refused extension change changes no number either.
    await expect(users.update(A, a1, { num: '432' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    expect((await eventsOf('74951230030')).map((e) => e.payload.version)).toEqual([1, 2]);
  });

  it('lets exactly one of 10 concurrent assigns of one new number win; the others are told it is taken', async () => {
    const candidates = await Promise.all(Array.from({ length: 10 }, () => newUser(A)));
    const results = await Promise.allSettled(candidates.map((user) => numbers.assign({ number: '74951230040', account_id: A, user })));
    const won = results.filter((r): r is PromiseFulfilledResult<Awaited<ReturnType<NumbersService['assign']>>> => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const r of results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')) {
      expect(r.reason).toMatchObject({ code: 'BAD_REQUEST', message: 'number 74951230040 is already assigned' });
    }
    expect(await row('74951230040')).toMatchObject({ username: won[0].value.user, version: 1 });
    expect(await eventsOf('74951230040')).toEqual([expect.objectContaining({ payload: expect.objectContaining({ version: 1, user: won[0].value.user }) })]);
  });

  it('lets exactly one of 10 concurrent assigns of one released number win', async () => {
    const first = await newUser(A);
    await numbers.assign({ number: '74951230041', account_id: A, user: first });
    await numbers.release('74951230041');
    const candidates = await Promise.all(Array.from({ length: 10 }, () => newUser(B)));
    const results = await Promise.allSettled(candidates.map((user) => numbers.assign({ number: '74951230041', account_id: B, user })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.message)).toEqual(
      Array(9).fill('number 74951230041 is already assigned'),
    );
    expect((await eventsOf('74951230041')).map((e) => e.payload.version)).toEqual([1, 2, 3]);
  });

  it('never deadlocks reassigns against extension changes, and the newest event carries the current extension', async () => {
    const [a1, a2] = [await newUser(A, '451'), await newUser(A, '452')];
    await numbers.assign({ number: '74951230050', account_id: A, user: a1 });
    for (let round = 0; round < 8; round++) {
      // update_extension locks the user, then its numbers; reassign must take them in the same order
      // (one of the two reassigns finds the number already with its user: a no-op that still locks).
      const results = await Promise.allSettled([
        numbers.reassign({ number: '74951230050', user: a1 }),
        numbers.reassign({ number: '74951230050', user: a2 }),
        users.update(A, a1, { num: String(460 + round) }),
        users.update(A, a2, { num: String(480 + round) }),
      ]);
      expect(results.map((r) => (r.status === 'rejected' ? String(r.reason?.message ?? r.reason) : 'ok'))).toEqual(['ok', 'ok', 'ok', 'ok']);
    }
    const current = await row('74951230050');
    const user = await env.prisma.user.findUniqueOrThrow({ where: { username: current.username! } });
    const newest = (await eventsOf('74951230050')).at(-1)!;
    expect(newest.payload).toMatchObject({ version: current.version, user: current.username, num: user.extension });
  });

  it('keeps a user with numbers from being deleted; releaseAllOfUser in the same transaction releases them with their events', async () => {
    const a1 = await newUser(A);
    await numbers.assign({ number: '74951230060', account_id: A, user: a1 });
    await numbers.assign({ number: '74951230061', account_id: A, user: a1 });
    await expect(env.prisma.user.delete({ where: { username: a1 } })).rejects.toMatchObject({ code: 'P2003' });

    const released = await env.prisma.$transaction(async (tx) => {
      const done = await numbers.releaseAllOfUser(tx, a1);
      await tx.user.delete({ where: { username: a1 } });
      return done;
    });
    expect(released.sort()).toEqual(['74951230060', '74951230061']);
    for (const number of released) {
      expect((await eventsOf(number)).map((e) => [e.subject, e.payload.version, e.payload.user])).toEqual([
        ['users.number.assigned', 1, a1],
        ['users.number.released', 2, null],
      ]);
      expect(await row(number)).toMatchObject({ accountId: null, username: null, version: 2 });
    }
  });

  it('keeps account and user consistent in the database too', async () => {
    const b1 = await newUser(B);
    // The composite foreign key refuses a number whose user is of another account.
    await expect(
      env.prisma.phoneNumber.create({ data: { number: '74951230070', accountId: A, username: b1, assignedAt: new Date() } }),
    ).rejects.toMatchObject({ code: 'P2003' });
  });
});
