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
