import { CrmEvent, crmEventId, crmEventSubject } from '@ringcloud/contracts-events';
import { NumberRouting, UserDeprovisioning } from '@ringcloud/contracts-users';
import { NoopOutboxSignal, OutboxStore } from '@ringcloud/nest-outbox';
import { NumbersRepository } from '../numbers/numbers.repository';
import { NumbersService } from '../numbers/numbers.service';
import { randomUserName } from '../secrets/random';
import { SipPasswordCipher } from '../secrets/sip-password-cipher';
import { TEST_SIP_KEY, TestEnv } from '../testing/fixture';
import { UsersRepository } from './users.repository';
import { UsersService } from './users.service';

describe('user deletion and CRM user events (PostgreSQL)', () => {
  let env: TestEnv;
  let users: UsersService;
  let numbers: NumbersService;
  const A = 5001;
  const B = 5002;

  beforeAll(async () => {
    env = await TestEnv.start({ nats: false });
    const outbox = new OutboxStore(env.prisma);
    numbers = new NumbersService(new NumbersRepository(env.prisma), outbox, new NoopOutboxSignal());
    users = new UsersService(new UsersRepository(env.prisma), outbox, new SipPasswordCipher(TEST_SIP_KEY), 'ringcloud', new NoopOutboxSignal(), numbers);
    await env.prisma.account.createMany({ data: [{ id: A, name: 'A' }, { id: B, name: 'B' }] });
  });
  afterAll(() => env.stop());

  /** Outbox rows in the order the relay sends them. */
  const rows = async () => env.prisma.outboxEvent.findMany({ orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
  const crmOf = async (user: string) =>
    (await rows()).filter((r) => r.subject.startsWith('crm.events.')).filter((r) => (r.payload as any).data.user === user);

  it('publishes user.created and user.updated to the account subject, with no password anywhere', async () => {
    const user = await users.create({ account_id: A, password: 'Sup3rSecretPw', num: '301', mail: 'a@example.com' });
    await users.update(A, user, { password: 'An0therSecret' });
    await users.update(A, user, { voicemail: true });
    const events = await crmOf(user);
    expect(events.map((r) => [r.subject, (r.payload as any).type])).toEqual([
      [crmEventSubject(A), 'user.created'],
      [crmEventSubject(A), 'user.updated'],
      [crmEventSubject(A), 'user.updated'],
    ]);
    for (const row of events) {
      const event = CrmEvent.parse(row.payload);
      expect(event.id).toBe(crmEventId(row.id));
      expect(event.account_id).toBe(A);
      expect(Date.parse(event.timestamp)).toBeGreaterThan(Date.now() - 60_000);
      expect(JSON.stringify(row.payload)).not.toMatch(/Secret|password/);
    }
    expect(CrmEvent.parse(events[0].payload).data).toEqual({ account_id: A, user, num: '301', mail: 'a@example.com', voice_mail_box: 'off' });
    expect(CrmEvent.parse(events[2].payload).data).toMatchObject({ voice_mail_box: 'on' });
  });

  it('deletes a user: numbers released, PBX told (version + 1), CRM told, tombstone kept; in that order, in one transaction', async () => {
    const user = await users.create({ account_id: A, password: 'Passw0rd42', num: '302', mail: 'b@example.com' });
    await users.update(A, user, { mail: 'c@example.com' }); // version 2
    await numbers.assign({ number: '74950000001', account_id: A, user });
    await numbers.assign({ number: '74950000002', account_id: A, user });
    const before = (await rows()).length;

    expect(await users.delete(A, user)).toBeNull();

    await expect(users.get(A, user, false)).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'User not found' });
    expect((await users.list(A, false)).map((u) => u.user)).not.toContain(user);
    const written = (await rows()).slice(before);
    expect(written.map((r) => r.subject)).toEqual(['users.number.released', 'users.number.released', 'users.user.deleted', crmEventSubject(A)]);
    expect(written.slice(0, 2).map((r) => NumberRouting.parse(r.payload)).map((n) => [n.number, n.account_id, n.user])).toEqual([
      ['74950000001', null, null],
      ['74950000002', null, null],
    ]);
    const gone = UserDeprovisioning.parse(written[2].payload);
    expect(gone).toMatchObject({ event_id: written[2].id, version: 3, account_id: A, user, num: '302' });
    expect(CrmEvent.parse(written[3].payload)).toMatchObject({ id: crmEventId(written[3].id), type: 'user.deleted', data: { account_id: A, user } });
    expect(await env.prisma.deletedUser.findUnique({ where: { username: user } })).toMatchObject({ accountId: A, extension: '302', version: 3 });
    expect(await env.prisma.phoneNumber.count({ where: { username: user } })).toBe(0);

    // Its extension is free again; deleting twice is NOT_FOUND and writes nothing.
    await users.create({ account_id: A, password: 'Passw0rd42', num: '302', mail: 'd@example.com' });
    const after = (await rows()).length;
    await expect(users.delete(A, user)).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'User not found' });
    expect((await rows()).length).toBe(after);
  });

  it("refuses to delete another account's user or an unknown one, and changes nothing", async () => {
    const user = await users.create({ account_id: A, password: 'Passw0rd42', num: '303', mail: 'e@example.com' });
    const before = (await rows()).length;
    await expect(users.delete(B, user)).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'User not found' });
    await expect(users.delete(A, '1000000001')).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'User not found' });
    expect((await rows()).length).toBe(before);
    expect((await users.get(A, user, false)).num).toBe('303');
  });

  it("never gives a deleted user's name to a new user", async () => {
    const deleted = await users.create({ account_id: A, password: 'Passw0rd42', num: '304', mail: 'f@example.com' });
    await users.delete(A, deleted);
    const draws = [deleted, '1234567891'];
    users.nextUserName = () => draws.shift()!;
    try {
      expect(await users.create({ account_id: B, password: 'Passw0rd42', num: '304', mail: 'g@example.com' })).toBe('1234567891');
    } finally {
      users.nextUserName = randomUserName;
    }
    expect(draws).toEqual([]);
    expect(await env.prisma.user.count({ where: { username: deleted } })).toBe(0);
  });

  it('lets exactly one of concurrent deletes of the same user win', async () => {
    const user = await users.create({ account_id: A, password: 'Passw0rd42', num: '305', mail: 'h@example.com' });
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => users.delete(A, user)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.code)).toEqual(Array(4).fill('NOT_FOUND'));
    expect((await rows()).filter((r) => r.subject === 'users.user.deleted' && (r.payload as any).user === user)).toHaveLength(1);
  });
});
