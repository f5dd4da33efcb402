import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { connect } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { AdminClient, WORKSPACE_ROOT } from '@ringcloud/testing';
import { expectError, expectSuccess, newAccountId, useStack } from './support';

const world = useStack();
const run = promisify(execFile);

interface Routing {
  subject: string;
  data: { event_id: string; version: number; number: string; account_id: number | null; user: string | null; num: string | null };
  msgId?: string;
}

/** The number routing events in USERS_EVENTS (a durable consumer of the test's own, from the start). */
async function routingEvents(number: string, expected: number): Promise<Routing[]> {
  const nc = await connect({ servers: world.stack.nats.url });
  try {
    const jsm = await jetstreamManager(nc);
    const name = `e2e_numbers_${Date.now()}`;
    await jsm.consumers.add('USERS_EVENTS', { durable_name: name, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All });
    const consumer = await jetstream(nc).consumers.get('USERS_EVENTS', name);
    const seen: Routing[] = [];
    const deadline = Date.now() + 15_000;
    while (seen.length < expected && Date.now() < deadline) {
      const batch = await consumer.fetch({ max_messages: 100, expires: 1000 });
      for await (const m of batch) {
        const data = m.json<Routing['data']>();
        if (m.subject.startsWith('users.number.') && data.number === number) seen.push({ subject: m.subject, data, msgId: m.headers?.get('Nats-Msg-Id') });
        m.ack();
      }
    }
    await jsm.consumers.delete('USERS_EVENTS', name);
    // Events of one number may leave the outbox out of order (same millisecond): consumers go by version.
    return seen.sort((a, b) => a.data.version - b.data.version);
  } finally {
    await nc.close();
  }
}

describe('inbound numbers through the admin API (real processes)', () => {
  const accountA = newAccountId();
  const accountB = newAccountId();
  let a1: string;
  let a2: string;
  let b1: string;
  const admin = (method: string, path: string, body?: unknown) => world.admin.call(method, `/admin/v1${path}`, body);

  beforeAll(async () => {
    // users.create is limited per key and URL: one key per user.
    const create = async (account: number, num: string) =>
      expectSuccess(await (await world.client(account, 'RW')).post('/v1/users/create', { password: 'Sip5ecret!', num, mail: `u${num}@example.com` }));
    a1 = await create(accountA, '401');
    a2 = await create(accountA, '402');
    b1 = await create(accountB, '501');
  });

  it('assigns, lists, reassigns and releases a number, and USERS_EVENTS carries every routing state', async () => {
    const number = '74951234567';
    const assigned = expectSuccess(await admin('POST', '/numbers', { number: `+${number}`, account_id: accountA, user: a1 }));
    expect(assigned).toEqual({ number, account_id: accountA, user: a1, num: '401', assigned_at: expect.any(String), updated_at: expect.any(String) });

    expect(expectSuccess(await admin('GET', `/numbers?account_id=${accountA}`))).toEqual([assigned]);
    expect(expectSuccess(await admin('GET', `/accounts/${accountA}/numbers`))).toEqual([assigned]);
    expect(expectSuccess(await admin('GET', '/numbers'))).toEqual(expect.arrayContaining([assigned]));

    expectError(await admin('POST', '/numbers', { number, account_id: accountA, user: a2 }), 400, `number ${number} is already assigned`);
    expectError(await admin('POST', '/numbers', { number: '74951234568', account_id: accountA, user: b1 }), 400, `user ${b1} not found in account ${accountA}`);

    expect(expectSuccess(await admin('POST', `/numbers/${number}/reassign`, { user: a2 }))).toMatchObject({ account_id: accountA, user: a2, num: '402' });
    // The route follows the user's extension.
    const a2Client = await world.client(accountA, 'RW');
    expectSuccess(await a2Client.post(`/v1/users/${a2}/update_extension_number`, { num: '412' }));
    expect(expectSuccess(await admin('GET', `/accounts/${accountA}/numbers`))).toEqual([expect.objectContaining({ number, user: a2, num: '412' })]);

    expect(expectSuccess(await admin('POST', `/numbers/${number}/reassign`, { user: b1, account_id: accountB }))).toMatchObject({
      account_id: accountB,
      user: b1,
      num: '501',
    });
    expect(expectSuccess(await admin('GET', `/accounts/${accountA}/numbers`))).toEqual([]);

    expect(expectSuccess(await admin('POST', `/numbers/${number}/release`))).toBeNull();
    expectError(await admin('POST', `/numbers/${number}/release`), 404, `number ${number} is not assigned`);
    expectError(await admin('DELETE', `/numbers/${number}`), 404, `number ${number} is not assigned`);
    expectError(await admin('POST', `/numbers/${number}/reassign`, { user: b1 }), 404, `number ${number} is not assigned`);
    expect(expectSuccess(await admin('GET', `/accounts/${accountB}/numbers`))).toEqual([]);

    // Released, it can be assigned again, and its version goes on.
    expect(expectSuccess(await admin('POST', '/numbers', { number, account_id: accountA, user: a1 }))).toMatchObject({ account_id: accountA, user: a1 });
    expect(expectSuccess(await admin('DELETE', `/numbers/${number}`))).toBeNull();

    const events = await routingEvents(number, 7);
    expect(events.map((e) => [e.subject, e.data.version, e.data.account_id, e.data.user, e.data.num])).toEqual([
      ['users.number.assigned', 1, accountA, a1, '401'],
      ['users.number.assigned', 2, accountA, a2, '402'],
      ['users.number.assigned', 3, accountA, a2, '412'],
      ['users.number.assigned', 4, accountB, b1, '501'],
      ['users.number.released', 5, null, null, null],
      ['users.number.assigned', 6, accountA, a1, '401'],
      ['users.number.released', 7, null, null, null],
    ]);
    for (const e of events) expect(e.msgId).toBe(e.data.event_id);
  });

  it('refuses bad input with 400, unknown numbers and accounts with 404, and callers without the token with 403', async () => {
    for (const number of ['123', 'abc', '+0495123456', '7495123456789012']) {
      expectError(await admin('POST', '/numbers', { number, account_id: accountA, user: a1 }), 400, /E\.164/);
    }
    expectError(await admin('POST', '/numbers', { account_id: accountA, user: a1 }), 400, 'number is required');
    expectError(await admin('GET', '/numbers?account_id=abc'), 400, 'account_id must be a positive account number');
    expectError(await admin('POST', '/numbers/abc/release'), 404, 'Number not found');
    expectError(await admin('GET', '/accounts/987654/numbers'), 404, 'account 987654 not found');

    const wrong = new AdminClient(world.stack.gateways[0], `${world.stack.adminToken}x`);
    expectError(await wrong.call('GET', '/admin/v1/numbers'), 403, 'Invalid admin token');
    expectError(await wrong.call('POST', '/admin/v1/numbers', { number: '74951230000', account_id: accountA, user: a1 }), 403, 'Invalid admin token');
    const none = await fetch(new URL('/admin/v1/numbers/74951230000', world.stack.gateways[0]), { method: 'DELETE' });
    expectError({ status: none.status, body: await none.json() }, 403, 'Admin token is not specified');
    expect(expectSuccess(await admin('GET', `/accounts/${accountA}/numbers`))).toEqual([]);
  });

  it('`numbers assign` in the CLI goes out on the stream too, published by the running service', async () => {
    const { stdout } = await run('npm', ['run', '-s', 'cli', '--', 'numbers', 'assign', '--number', '74951239000', '--account', String(accountB), '--user', b1, '--json'], {
      cwd: WORKSPACE_ROOT,
      env: { ...process.env, ...world.stack.env },
    });
    expect(JSON.parse(stdout)).toMatchObject({ number: '74951239000', account_id: accountB, user: b1, num: '501' });
    expect(expectSuccess(await admin('GET', `/numbers?account_id=${accountB}`))).toEqual([expect.objectContaining({ number: '74951239000' })]);
    const [event] = await routingEvents('74951239000', 1);
    expect(event).toMatchObject({ subject: 'users.number.assigned', data: { version: 1, account_id: accountB, user: b1, num: '501' } });
  });
});
