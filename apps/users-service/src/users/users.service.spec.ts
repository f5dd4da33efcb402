import { createHash } from 'node:crypto';
import { UserProvisioning } from '@ringcloud/contracts-users';
import { NumbersRepository } from '../numbers/numbers.repository';
import { NumbersService } from '../numbers/numbers.service';
import { NoopOutboxSignal, OutboxStore } from '@ringcloud/nest-outbox';
import { randomUserName } from '../secrets/random';
import { SipPasswordCipher } from '../secrets/sip-password-cipher';
import { TEST_SIP_KEY, TestEnv } from '../testing/fixture';
import { UsersRepository } from './users.repository';
import { UsersService } from './users.service';

describe('UsersService (PostgreSQL)', () => {
  let env: TestEnv;
  let users: UsersService;
  const A = 3001;
  const B = 3002;

  beforeAll(async () => {
    env = await TestEnv.start({ nats: false });
    const outbox = new OutboxStore(env.prisma);
    const signal = new NoopOutboxSignal();
    const numbers = new NumbersService(new NumbersRepository(env.prisma), outbox, signal);
    users = new UsersService(new UsersRepository(env.prisma), outbox, new SipPasswordCipher(TEST_SIP_KEY), 'ringcloud', signal, numbers);
    await env.prisma.account.createMany({ data: [{ id: A, name: 'A' }, { id: B, name: 'B' }] });
  });
  afterAll(() => env.stop());

  const outboxFor = async (user: string) =>
    (await env.prisma.outboxEvent.findMany({ where: { subject: { startsWith: 'users.user.' } }, orderBy: { createdAt: 'asc' } }))
      .map((row) => ({ subject: row.subject, id: row.id, payload: UserProvisioning.parse(row.payload) }))
      .filter((e) => e.payload.user === user);

  it('creates a user with a random 10-digit name and shows it as v1 does', async () => {
    const user = await users.create({ account_id: A, password: 'Str0ngPass', num: '401', mail: 'ivan@example.com' });
    expect(user).toMatch(/^[1-9][0-9]{9}$/);
    expect(await users.get(A, user, true)).toEqual({
      account_id: A,
      user,
      num: '401',
      mail: 'ivan@example.com',
      voice_mail_box: 'off',
      password: 'Str0ngPass',
    });
    expect((await users.get(A, user, false)).password).toBeNull();
    const row = await env.prisma.user.findUniqueOrThrow({ where: { username: user } });
    expect(row.sipPasswordEnc).not.toContain('Str0ngPass');
  });

  it('writes a users.user.created outbox event in the same transaction, with the md5 credential', async () => {
    const user = await users.create({ account_id: A, password: 'Passw0rd42', num: '402', mail: 'olga@example.com' });
    const events = await outboxFor(user);
    expect(events).toHaveLength(1);
    const [{ subject, id, payload }] = events;
    expect(subject).toBe('users.user.created');
    expect(payload).toMatchObject({
      event_id: id,
      version: 1,
      account_id: A,
      user,
      num: '402',
      mail: 'olga@example.com',
      voice_mail_box: 'off',
      sip: { username: user, realm: 'ringcloud', md5_cred: createHash('md5').update(`${user}:ringcloud:Passw0rd42`).digest('hex') },
      changed: ['password', 'num', 'mail', 'voice_mail_box'],
    });
  });

  it('applies each update, bumps the version and records what changed', async () => {
    const user = await users.create({ account_id: A, password: 'Passw0rd42', num: '403', mail: 'a@example.com' });
    await users.update(A, user, { password: 'N3wPassword' });
    await users.update(A, user, { num: '499' });
    await users.update(A, user, { mail: 'b@example.com' });
    await users.update(A, user, { voicemail: true });
    expect(await users.get(A, user, true)).toMatchObject({ num: '499', mail: 'b@example.com', voice_mail_box: 'on', password: 'N3wPassword' });

    const events = await outboxFor(user);
    expect(events.map((e) => [e.subject, e.payload.version, e.payload.changed])).toEqual([
      ['users.user.created', 1, ['password', 'num', 'mail', 'voice_mail_box']],
      ['users.user.updated', 2, ['password']],
      ['users.user.updated', 3, ['num']],
      ['users.user.updated', 4, ['mail']],
      ['users.user.updated', 5, ['voice_mail_box']],
    ]);
    const md5 = createHash('md5').update(`${user}:ringcloud:N3wPassword`).digest('hex');
    // Later events carry the current credential even when the password did not change.
    expect(events.slice(1).map((e) => e.payload.sip.md5_cred)).toEqual([md5, md5, md5, md5]);
    expect(events.at(-1)!.payload).toMatchObject({ num: '499', mail: 'b@example.com', voice_mail_box: 'on' });
  });

  it('refuses an extension already used in the account, on create and on update, and writes no event', async () => {
    const user = await users.create({ account_id: A, password: 'Passw0rd42', num: '410', mail: 'x@example.com' });
    const provisioningRows = () => env.prisma.outboxEvent.count({ where: { subject: { startsWith: 'users.' } } });
    const before = await provisioningRows();
    await expect(users.create({ account_id: A, password: 'Passw0rd42', num: '410', mail: 'y@example.com' })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: 'extension 410 is already used in this account',
    });
    const other = await users.create({ account_id: A, password: 'Passw0rd42', num: '411', mail: 'y@example.com' });
    await expect(users.update(A, other, { num: '410' })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: 'extension 410 is already used in this account',
    });
    expect(await provisioningRows()).toBe(before + 1);
    expect((await users.get(A, other, false)).num).toBe('411');
    // The same extension in another account is fine, and re-setting one's own extension too.
    await users.create({ account_id: B, password: 'Passw0rd42', num: '410', mail: 'z@example.com' });
    await expect(users.update(A, user, { num: '410' })).resolves.toBeNull();
  });

  it('keeps accounts apart: another account\'s user is "User not found" for every verb', async () => {
    const user = await users.create({ account_id: A, password: 'Passw0rd42', num: '420', mail: 'a@example.com' });
    const notFound = { code: 'NOT_FOUND', message: 'User not found' };
    await expect(users.get(B, user, true)).rejects.toMatchObject(notFound);
    await expect(users.get(A, '1000000000', true)).rejects.toMatchObject(notFound);
    await expect(users.update(B, user, { password: 'Hack3rPass' })).rejects.toMatchObject(notFound);
    await expect(users.update(B, user, { num: '999' })).rejects.toMatchObject(notFound);
    await expect(users.update(B, user, { mail: 'evil@example.com' })).rejects.toMatchObject(notFound);
    await expect(users.update(B, user, { voicemail: true })).rejects.toMatchObject(notFound);
    expect((await users.list(B, true)).map((u) => u.user)).not.toContain(user);
    expect(await users.get(A, user, true)).toMatchObject({ num: '420', mail: 'a@example.com', voice_mail_box: 'off', password: 'Passw0rd42' });
    expect((await outboxFor(user)).length).toBe(1);
  });

  it('refuses a user for an account that does not exist', async () => {
    await expect(users.create({ account_id: 3999, password: 'Passw0rd42', num: '401', mail: 'a@example.com' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('lists by extension numerically, then user name, exactly the v1 fields', async () => {
    const C = 3003;
    await env.prisma.account.create({ data: { id: C, name: 'C' } });
    for (const num of ['1000', '20', '300', '21']) await users.create({ account_id: C, password: 'Passw0rd42', num, mail: `${num}@example.com` });
    const listed = await users.list(C, false);
    expect(listed.map((u) => u.num)).toEqual(['20', '21', '300', '1000']);
    for (const u of listed) {
      expect(Object.keys(u).sort()).toEqual(['account_id', 'mail', 'num', 'password', 'user', 'voice_mail_box']);
      expect(u.password).toBeNull();
    }
    expect((await users.list(C, true)).every((u) => u.password === 'Passw0rd42')).toBe(true);
  });

  it('pages the same order with a cursor: no user twice or missed while users come and go', async () => {
    const P = 3004;
    await env.prisma.account.create({ data: { id: P, name: 'P' } });
    for (const num of ['1000', '20', '300', '21', '007', '7', '99']) await users.create({ account_id: P, password: 'Passw0rd42', num, mail: `${num}@example.com` });
    const all = (await users.list(P, true)).map((u) => u.num);
    const first = await users.listPage(P, true, { limit: 3 });
    expect(first.items.map((u) => u.num)).toEqual(all.slice(0, 3));
    expect(first.items.every((u) => u.password === 'Passw0rd42')).toBe(true);
    // A user before the cursor is removed and one after it is added: the next page neither shifts nor repeats.
    await env.prisma.user.deleteMany({ where: { accountId: P, extension: all[0] } });
    await users.create({ account_id: P, password: 'Passw0rd42', num: '5000', mail: 'late@example.com' });
    const second = await users.listPage(P, false, { limit: 3, cursor: first.next_cursor! });
    expect(second.items.map((u) => u.num)).toEqual(all.slice(3, 6));
    expect(second.items.every((u) => u.password === null)).toBe(true);
    const last = await users.listPage(P, false, { limit: 3, cursor: second.next_cursor! });
    expect(last).toEqual({ items: [expect.objectContaining({ num: all[6] }), expect.objectContaining({ num: '5000' })], next_cursor: null });
    await expect(users.listPage(P, false, { limit: 3, cursor: 'eyJrIjpbIngiXX0' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    expect((await users.listPage(B + 999, false, { limit: 3 }))).toEqual({ items: [], next_cursor: null });
  });

  it('lets exactly one of 10 concurrent creates with the same extension win', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => users.create({ account_id: B, password: 'Passw0rd42', num: '555', mail: `c${i}@example.com` })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')) {
      expect(r.reason).toMatchObject({ code: 'BAD_REQUEST', message: 'extension 555 is already used in this account' });
    }
    expect(await env.prisma.user.count({ where: { accountId: B, extension: '555' } })).toBe(1);
  });

  it('lets exactly one of 10 concurrent updates to the same free extension win', async () => {
    const names = await Promise.all(
      Array.from({ length: 10 }, (_, i) => users.create({ account_id: B, password: 'Passw0rd42', num: String(600 + i), mail: `u${i}@example.com` })),
    );
    const results = await Promise.allSettled(names.map((user) => users.update(B, user, { num: '777' })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.code)).toEqual(Array(9).fill('BAD_REQUEST'));
    expect(await env.prisma.user.count({ where: { accountId: B, extension: '777' } })).toBe(1);
  });

  it('draws another user name when the random one is already taken anywhere on the platform', async () => {
    const taken = await users.create({ account_id: A, password: 'Passw0rd42', num: '430', mail: 'first@example.com' });
    const draws = [taken, taken, '1234567890'];
    users.nextUserName = () => draws.shift()!;
    try {
      expect(await users.create({ account_id: B, password: 'Passw0rd42', num: '430', mail: 'second@example.com' })).toBe('1234567890');
    } finally {
      users.nextUserName = randomUserName;
    }
    expect(draws).toEqual([]);
    expect((await users.get(A, taken, false)).mail).toBe('first@example.com');
  });
});
