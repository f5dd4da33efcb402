import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { connect } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { V1Client, WORKSPACE_ROOT } from '@ringcloud/testing';
import { expectSuccess, newAccountId, useStack } from './support';

const world = useStack();
const run = promisify(execFile);

describe('user events on JetStream', () => {
  it('publishes users.user.created and users.user.updated with what the PBX needs, without the clear password', async () => {
    const account = newAccountId();
    const client = await world.client(account, 'RW');
    const user = expectSuccess(await client.post('/v1/users/create', { password: 'Sip5ecret!', num: '801', mail: 'ev@example.com' }));
    expectSuccess(await client.post(`/v1/users/${user}/voice_mail_box_on`));

    const nc = await connect({ servers: world.stack.nats.url });
    try {
      const jsm = await jetstreamManager(nc);
      const name = `e2e_${Date.now()}`;
      await jsm.consumers.add('USERS_EVENTS', { durable_name: name, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All });
      const consumer = await jetstream(nc).consumers.get('USERS_EVENTS', name);
      const seen: Array<{ subject: string; data: any }> = [];
      const deadline = Date.now() + 10_000;
      while (seen.filter((e) => e.data.user === user).length < 2 && Date.now() < deadline) {
        const batch = await consumer.fetch({ max_messages: 100, expires: 1000 });
        for await (const m of batch) {
          seen.push({ subject: m.subject, data: m.json() });
          m.ack();
        }
      }
      const mine = seen.filter((e) => e.data.user === user);
      expect(mine.map((e) => e.subject)).toEqual(['users.user.created', 'users.user.updated']);
      expect(mine[0].data).toMatchObject({ account_id: account, num: '801', voice_mail_box: 'off', version: 1 });
      expect(mine[0].data.sip).toEqual({ username: user, realm: expect.any(String), md5_cred: expect.stringMatching(/^[0-9a-f]{32}$/) });
      expect(mine[1].data).toMatchObject({ voice_mail_box: 'on', version: 2, changed: ['voice_mail_box'] });
      expect(JSON.stringify(mine)).not.toContain('Sip5ecret!');
    } finally {
      await nc.close();
    }
  });
});

describe('key management CLI', () => {
  it('`keys create --account N --access RW --json` prints one JSON line whose key works through the gateway', async () => {
    const account = newAccountId();
    const { stdout } = await run('npm', ['run', '-s', 'cli', '--', 'keys', 'create', '--account', String(account), '--access', 'RW', '--json'], {
      cwd: WORKSPACE_ROOT,
      env: { ...process.env, ...world.stack.env },
    });
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const created = JSON.parse(lines[0]);
    expect(Object.keys(created).sort()).toEqual(['access', 'api_key', 'password']);
    expect(created.access).toBe('RW');
    expect(created.api_key.startsWith(`${account}_`)).toBe(true);
    const client = new V1Client(world.stack.gateways[0], created);
    expect(expectSuccess(await client.get('/v1/users'))).toEqual([]);
  });

  it('fails with a clear message and a non-zero exit code on bad input', async () => {
    await expect(
      run('npm', ['run', '-s', 'cli', '--', 'keys', 'create', '--account', 'abc', '--access', 'XX', '--json'], {
        cwd: WORKSPACE_ROOT,
        env: { ...process.env, ...world.stack.env },
      }),
    ).rejects.toMatchObject({ code: expect.any(Number) });
  });
});

describe('deleting a user from the admin API and the CLI', () => {
  /** users.user.deleted events of `user` on USERS_EVENTS (what the telephony adapter deprovisions from). */
  async function deletionEvents(user: string): Promise<any[]> {
    const nc = await connect({ servers: world.stack.nats.url });
    try {
      const consumer = await jetstream(nc).consumers.get('USERS_EVENTS', { deliver_policy: DeliverPolicy.All, filter_subjects: 'users.user.deleted' });
      const found: any[] = [];
      const deadline = Date.now() + 10_000;
      while (!found.length && Date.now() < deadline) {
        const batch = await consumer.fetch({ max_messages: 1000, expires: 1000 });
        for await (const m of batch) if (m.json<{ user: string }>().user === user) found.push(m.json());
      }
      return found;
    } finally {
      await nc.close();
    }
  }

  it('both delete through users-service: gone for v1, deprovisioned on USERS_EVENTS, a second delete is 404 / exit 1', async () => {
    const account = newAccountId();
    const client = await world.client(account, 'RW');
    const viaAdmin = expectSuccess(await client.post('/v1/users/create', { password: 'Sip5ecret!', num: '811', mail: 'da@example.com' }));
    // one create per key and minute: the second user through another key
    const viaCli = expectSuccess(await (await world.client(account, 'RW')).post('/v1/users/create', { password: 'Sip5ecret!', num: '812', mail: 'dc@example.com' }));

    const deleted = await world.admin.call('DELETE', `/admin/v1/accounts/${account}/users/${viaAdmin}`);
    expect([deleted.status, deleted.body]).toEqual([200, { status: 'success', message: null, data: null }]);
    const again = await world.admin.call('POST', `/admin/v1/accounts/${account}/users/${viaAdmin}/delete`);
    expect([again.status, again.body?.message]).toEqual([404, 'User not found']);

    const { stdout } = await run('npm', ['run', '-s', 'cli', '--', 'users', 'delete', '--account', String(account), '--user', viaCli, '--json'], {
      cwd: WORKSPACE_ROOT,
      env: { ...process.env, ...world.stack.env },
    });
    expect(JSON.parse(stdout)).toEqual({ deleted: viaCli, account_id: account });
    await expect(
      run('npm', ['run', '-s', 'cli', '--', 'users', 'delete', '--account', String(account), '--user', viaCli], { cwd: WORKSPACE_ROOT, env: { ...process.env, ...world.stack.env } }),
    ).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('error: User not found') });

    for (const user of [viaAdmin, viaCli]) {
      expect((await client.get(`/v1/users/${user}`)).body).toMatchObject({ status: 'error', message: 'User not found' });
      // The CLI's event goes out through the outbox, published by the running users-service.
      expect(await deletionEvents(user)).toEqual([expect.objectContaining({ account_id: account, user })]);
    }
  }, 60_000);
});
