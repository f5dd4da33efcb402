import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { NumberRouting, UsersApiKeyChanged } from '@ringcloud/contracts-users';
import { AccountsRepository } from '../accounts/accounts.repository';
import { ApiKeysRepository } from '../api-keys/api-keys.repository';
import { ApiKeysService } from '../api-keys/api-keys.service';
import { NoopKeyChangeNotifier } from '../api-keys/key-change-notifier';
import { NumbersRepository } from '../numbers/numbers.repository';
import { NumbersService } from '../numbers/numbers.service';
import { NoopOutboxSignal, OutboxStore } from '@ringcloud/nest-outbox';
import { ApiKeySecrets } from '../secrets/api-key-secrets';
import { SipPasswordCipher } from '../secrets/sip-password-cipher';
import { TEST_PEPPER, TEST_SIP_KEY, TestEnv } from '../testing/fixture';
import { UsersRepository } from '../users/users.repository';
import { UsersService } from '../users/users.service';
import { runCli } from './cli';

const WORKSPACE = path.resolve(__dirname, '../../../..');
const run = promisify(execFile);

describe('users CLI', () => {
  let env: TestEnv;
  let childEnv: NodeJS.ProcessEnv;
  let keys: ApiKeysService;

  beforeAll(async () => {
    env = await TestEnv.start();
    childEnv = { ...process.env, USERS_DATABASE_URL: env.schema.databaseUrl, API_KEY_PEPPER: TEST_PEPPER, NATS_URL: env.nats.url, NODE_ENV: 'development' };
    keys = new ApiKeysService(new ApiKeysRepository(env.prisma), new AccountsRepository(env.prisma), new ApiKeySecrets(TEST_PEPPER), new NoopKeyChangeNotifier());
  });
  afterAll(() => env.stop());

  /** The CLI in-process: what it printed and its exit code. */
  async function cli(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(argv, { out: (l) => out.push(l), err: (l) => err.push(l) }, childEnv);
    return { code, out, err };
  }

  it('`keys create --json` as a child process prints exactly one JSON line with a working key', async () => {
    const { stdout } = await run(process.execPath, ['-r', './tools/register.cjs', 'apps/users-service/src/cli/main.ts', 'keys', 'create', '--account', '1001', '--access', 'RW', '--json'], {
      cwd: WORKSPACE,
      env: childEnv,
    });
    const lines = stdout.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(1);
    expect(stdout).toBe(`${lines[0]}\n`);
    const created = JSON.parse(lines[0]);
    expect(Object.keys(created)).toEqual(['api_key', 'password', 'access']);
    expect(created).toMatchObject({ api_key: expect.stringMatching(/^1001_[A-Za-z0-9]{24}$/), password: expect.stringMatching(/^[A-Za-z0-9]{24}$/), access: 'RW' });
    expect(await keys.verify({ api_key: created.api_key, hash: ApiKeySecrets.v1Hash(created.api_key, created.password) })).toEqual({
      ok: true,
      account_id: 1001,
      access: 'RW',
    });
    expect((await env.prisma.account.findUniqueOrThrow({ where: { id: 1001 } })).name).toBe('Account 1001');
  }, 60_000);

  it('exits non-zero with a clear message on stderr, and nothing on stdout, when it fails', async () => {
    const failed = await run(process.execPath, ['-r', './tools/register.cjs', 'apps/users-service/src/cli/main.ts', 'keys', 'disable', '--key', '1001_nosuchkeynosuchkey', '--json'], {
      cwd: WORKSPACE,
      env: childEnv,
    }).catch((err) => err);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toBe('');
    expect(failed.stderr).toContain('error: API key not found');
  }, 60_000);

  it('manages accounts', async () => {
    const created = await cli('accounts', 'create', '--id', '8001', '--name', 'Acme', '--json');
    expect(created.code).toBe(0);
    expect(JSON.parse(created.out[0])).toMatchObject({ account_id: 8001, name: 'Acme' });
    expect(await cli('accounts', 'create', '--name', 'Next')).toMatchObject({ code: 0, out: ['account 8002 "Next" created'] });
    expect(await cli('accounts', 'create', '--id', '8001', '--name', 'Dup')).toMatchObject({ code: 1, err: ['error: account 8001 already exists'] });
    const listed = await cli('accounts', 'list', '--json');
    expect(listed.out).toHaveLength(1);
    expect(JSON.parse(listed.out[0]).map((a: { account_id: number }) => a.account_id)).toEqual(expect.arrayContaining([8001, 8002]));
  });

  it('lists, disables, enables, regenerates and deletes keys, broadcasting each change', async () => {
    const changes: string[] = [];
    const sub = env.nc.subscribe(UsersApiKeyChanged.subject, { callback: (_e, m) => void changes.push(m.json<{ api_key: string }>().api_key) });
    await env.nc.flush();

    const key = JSON.parse((await cli('keys', 'create', '--account', '8001', '--access', 'RO', '--json')).out[0]);
    const listed = JSON.parse((await cli('keys', 'list', '--account', '8001', '--json')).out[0]);
    expect(listed).toEqual([expect.objectContaining({ api_key: key.api_key, access: 'RO', enabled: true })]);
    expect(JSON.stringify(listed)).not.toContain(key.password);

    expect(JSON.parse((await cli('keys', 'disable', '--key', key.api_key, '--json')).out[0]).enabled).toBe(false);
    expect((await cli('keys', 'enable', '--key', key.api_key)).out[0]).toContain('enabled');
    const regenerated = JSON.parse((await cli('keys', 'regenerate', '--key', key.api_key, '--json')).out[0]);
    expect(regenerated.password).not.toBe(key.password);
    expect((await keys.verify({ api_key: key.api_key, hash: ApiKeySecrets.v1Hash(key.api_key, regenerated.password) })).ok).toBe(true);
    expect(await cli('keys', 'delete', '--key', key.api_key)).toMatchObject({ code: 0, out: [`key ${key.api_key} deleted`] });

    await env.nc.flush();
    await new Promise((r) => setTimeout(r, 100));
    sub.unsubscribe();
    expect(changes).toEqual(Array(4).fill(key.api_key));
  });

  it('still changes keys when NATS is unreachable, with a warning', async () => {
    const key = await keys.create({ account_id: 8001, access: 'RW', create_account: false });
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(['keys', 'disable', '--key', key.api_key], { out: (l) => out.push(l), err: (l) => err.push(l) }, { ...childEnv, NATS_URL: 'nats://127.0.0.1:1' });
    expect(code).toBe(0);
    expect(err.join('\n')).toMatch(/NATS .* unreachable/);
    expect(await keys.verify({ api_key: key.api_key, hash: ApiKeySecrets.v1Hash(key.api_key, key.password) })).toEqual({ ok: false, reason: 'disabled' });
  });

  it('ensure-demo gives one RW and one RO key, regenerating existing ones', async () => {
    const first = JSON.parse((await cli('keys', 'ensure-demo', '--account', '8100', '--json')).out[0]);
    expect(first.keys.map((k: { access: string }) => k.access)).toEqual(['RW', 'RO']);
    const second = JSON.parse((await cli('keys', 'ensure-demo', '--account', '8100', '--json')).out[0]);
    expect(second.keys.map((k: { api_key: string }) => k.api_key)).toEqual(first.keys.map((k: { api_key: string }) => k.api_key));
    for (const k of second.keys) expect((await keys.verify({ api_key: k.api_key, hash: ApiKeySecrets.v1Hash(k.api_key, k.password) })).ok).toBe(true);
    for (const k of first.keys) expect((await keys.verify({ api_key: k.api_key, hash: ApiKeySecrets.v1Hash(k.api_key, k.password) })).ok).toBe(false);
    expect(await env.prisma.apiKey.count({ where: { accountId: 8100 } })).toBe(2);
  });

  describe('numbers', () => {
    let users: UsersService;
    const newUser = (account: number, num: string) => users.create({ account_id: account, password: 'Str0ngPass', num, mail: `n${num}@example.com` });
    const routing = async (number: string) =>
      (await env.prisma.outboxEvent.findMany({ where: { subject: { startsWith: 'users.number.' } } }))
        .map((row) => ({ subject: row.subject, ...NumberRouting.parse(row.payload) }))
        .filter((e) => e.number === number)
        .sort((a, b) => a.version - b.version);

    beforeAll(async () => {
      const outbox = new OutboxStore(env.prisma);
      const numbers = new NumbersService(new NumbersRepository(env.prisma), outbox, new NoopOutboxSignal());
      users = new UsersService(new UsersRepository(env.prisma), outbox, new SipPasswordCipher(TEST_SIP_KEY), 'ringcloud', new NoopOutboxSignal(), numbers);
      await env.prisma.account.createMany({ data: [{ id: 8201, name: 'N1' }, { id: 8202, name: 'N2' }], skipDuplicates: true });
    });

    it('`numbers assign --json` as a child process prints exactly one JSON line', async () => {
      const user = await newUser(8201, '301');
      const { stdout } = await run(
        process.execPath,
        ['-r', './tools/register.cjs', 'apps/users-service/src/cli/main.ts', 'numbers', 'assign', '--number', '+74957770001', '--account', '8201', '--user', user, '--json'],
        { cwd: WORKSPACE, env: childEnv },
      );
      expect(stdout.endsWith('\n') && stdout.split('\n').filter(Boolean).length).toBe(1);
      expect(JSON.parse(stdout)).toEqual({
        number: '74957770001',
        account_id: 8201,
        user,
        num: '301',
        assigned_at: expect.any(String),
        updated_at: expect.any(String),
      });
    }, 60_000);

    it('assigns, lists, reassigns and releases, writing each routing event to the outbox', async () => {
      const [a1, a2, b1] = [await newUser(8201, '311'), await newUser(8201, '312'), await newUser(8202, '313')];
      const assigned = await cli('numbers', 'assign', '--number', '74957770010', '--account', '8201', '--user', a1);
      expect(assigned).toMatchObject({ code: 0, err: [] });
      expect(assigned.out).toEqual([expect.stringMatching(new RegExp(`^74957770010\taccount 8201\tuser ${a1}\text 311\tassigned \\d{4}-`))]);

      const listed = await cli('numbers', 'list', '--account', '8201', '--json');
      expect(listed.out).toHaveLength(1);
      expect(JSON.parse(listed.out[0])).toEqual(expect.arrayContaining([expect.objectContaining({ number: '74957770010', user: a1, num: '311' })]));
      expect((await cli('numbers', 'list')).out.join('\n')).toContain('74957770010\taccount 8201');
      expect(await cli('numbers', 'list', '--account', '8202')).toMatchObject({ code: 0, out: ['no numbers'] });

      const moved = JSON.parse((await cli('numbers', 'reassign', '--number', '74957770010', '--user', a2, '--json')).out[0]);
      expect(moved).toMatchObject({ number: '74957770010', account_id: 8201, user: a2, num: '312' });
      const across = await cli('numbers', 'reassign', '--number', '+74957770010', '--user', b1, '--account', '8202');
      expect(across.out[0]).toContain(`account 8202\tuser ${b1}\text 313`);
      expect(JSON.parse((await cli('numbers', 'release', '--number', '74957770010', '--json')).out[0])).toEqual({ released: '74957770010' });
      expect(await cli('numbers', 'release', '--number', '74957770010')).toMatchObject({ code: 1, out: [], err: ['error: number 74957770010 is not assigned'] });

      expect((await routing('74957770010')).map((e) => [e.subject, e.version, e.account_id, e.user, e.num])).toEqual([
        ['users.number.assigned', 1, 8201, a1, '311'],
        ['users.number.assigned', 2, 8201, a2, '312'],
        ['users.number.assigned', 3, 8202, b1, '313'],
        ['users.number.released', 4, null, null, null],
      ]);
    });

    it('fails with exit code 1 and the reason when the service refuses', async () => {
      const [a1, b1] = [await newUser(8201, '321'), await newUser(8202, '322')];
      expect((await cli('numbers', 'assign', '--number', '74957770020', '--account', '8201', '--user', a1)).code).toBe(0);
      expect(await cli('numbers', 'assign', '--number', '74957770020', '--account', '8201', '--user', a1)).toMatchObject({
        code: 1,
        out: [],
        err: ['error: number 74957770020 is already assigned'],
      });
      expect(await cli('numbers', 'assign', '--number', '74957770021', '--account', '8201', '--user', b1, '--json')).toMatchObject({
        code: 1,
        out: [],
        err: [`error: user ${b1} not found in account 8201`],
      });
      expect(await cli('numbers', 'reassign', '--number', '74957770022', '--user', a1)).toMatchObject({ code: 1, err: ['error: number 74957770022 is not assigned'] });
      expect(await cli('numbers', 'list', '--account', '8999')).toMatchObject({ code: 1, err: ['error: account 8999 not found'] });
    });

    it('`users delete` deletes with the service\'s own command: tombstone, numbers released, PBX and CRM told', async () => {
      const user = await newUser(8201, '331');
      expect((await cli('numbers', 'assign', '--number', '74957770040', '--account', '8201', '--user', user)).code).toBe(0);

      // Another account's user is not found, and stays.
      expect(await cli('users', 'delete', '--account', '8202', '--user', user)).toMatchObject({ code: 1, out: [], err: ['error: User not found'] });
      expect(await env.prisma.user.count({ where: { username: user } })).toBe(1);

      expect(await cli('users', 'delete', '--account', '8201', '--user', user)).toMatchObject({ code: 0, err: [], out: [`user ${user} of account 8201 deleted`] });
      expect(await env.prisma.user.count({ where: { username: user } })).toBe(0);
      expect(await env.prisma.deletedUser.findUnique({ where: { username: user } })).toMatchObject({ accountId: 8201, extension: '331' });
      expect(await env.prisma.phoneNumber.count({ where: { number: '74957770040', username: { not: null } } })).toBe(0);
      const outbox = await env.prisma.outboxEvent.findMany({ orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
      expect(outbox.filter((r) => (r.payload as any).user === user || (r.payload as any).data?.user === user).map((r) => r.subject).slice(-2)).toEqual([
        'users.user.deleted',
        'crm.events.8201',
      ]);
      expect((await routing('74957770040')).at(-1)).toMatchObject({ subject: 'users.number.released' });

      // Deleted is deleted: a second delete is not found (exit 1, nothing on stdout).
      expect(await cli('users', 'delete', '--account', '8201', '--user', user, '--json')).toMatchObject({ code: 1, out: [], err: ['error: User not found'] });
    });

    it('`users delete --json` as a child process prints exactly one JSON line', async () => {
      const user = await newUser(8202, '332');
      const { stdout } = await run(
        process.execPath,
        ['-r', './tools/register.cjs', 'apps/users-service/src/cli/main.ts', 'users', 'delete', '--account', '8202', '--user', user, '--json'],
        { cwd: WORKSPACE, env: childEnv },
      );
      expect(stdout.endsWith('\n') && stdout.split('\n').filter(Boolean).length).toBe(1);
      expect(JSON.parse(stdout)).toEqual({ deleted: user, account_id: 8202 });
      expect(await env.prisma.user.count({ where: { username: user } })).toBe(0);
    }, 60_000);

    it('explains usage mistakes with exit code 2', async () => {
      for (const argv of [
        ['numbers', 'assign', '--account', '8201', '--user', '1679728441'],
        ['numbers', 'assign', '--number', '123', '--account', '8201', '--user', '1679728441'],
        ['numbers', 'assign', '--number', '74957770030', '--user', '1679728441'],
        ['numbers', 'assign', '--number', '74957770030', '--account', '8201'],
        ['numbers', 'assign', '--number', '74957770030', '--account', '8201', '--user', 'bob'],
        ['numbers', 'reassign', '--number', '74957770030'],
        ['numbers', 'reassign', '--number', '74957770030', '--user', '1679728441', '--account', 'x'],
        ['numbers', 'release'],
        ['numbers', 'release', '--number', 'abc'],
        ['numbers', 'list', '--account', '-1'],
        ['numbers', 'delete', '--number', '74957770030'],
        ['users', 'delete', '--account', '8201'],
        ['users', 'delete', '--user', '1679728441'],
        ['users', 'delete', '--account', 'x', '--user', '1679728441'],
        ['users', 'delete', '--account', '8201', '--user', 'bob'],
        ['users', 'remove', '--account', '8201', '--user', '1679728441'],
      ]) {
        const result = await cli(...argv);
        expect({ argv, code: result.code, out: result.out }).toEqual({ argv, code: 2, out: [] });
        expect(result.err[0]).toMatch(/^error: /);
      }
      expect((await cli('numbers', 'release', '--number', 'abc')).err[0].split('\n')[0]).toBe(
        'error: --number must be an E.164 phone number: 5 to 15 digits, optionally with a leading +',
      );
      expect((await cli('numbers', 'assign', '--number', '74957770030', '--account', '8201', '--user', 'bob')).err[0].split('\n')[0]).toBe(
        'error: --user must be a numeric user name',
      );
    });
  });

  it('explains usage mistakes with exit code 2', async () => {
    for (const argv of [[], ['keys'], ['keys', 'create', '--account', '1001'], ['keys', 'create', '--account', 'abc', '--access', 'RW'], ['keys', 'create', '--account', '1', '--access', 'ADMIN'], ['keys', 'disable', '--key', 'bad'], ['nope', 'verb'], ['keys', 'list', '--bogus']]) {
      const result = await cli(...argv);
      expect({ argv, code: result.code, out: result.out }).toEqual({ argv, code: 2, out: [] });
      expect(result.err.join('\n')).toMatch(/error: .+|usage:/);
    }
  });

  it('names the database when it cannot reach it', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(['accounts', 'list'], { out: (l) => out.push(l), err: (l) => err.push(l) }, {
      ...childEnv,
      USERS_DATABASE_URL: 'postgresql://postgres:secretpw@127.0.0.1:1/ringcloud?schema=users',
    });
    expect(code).toBe(1);
    expect(out).toEqual([]);
    expect(err.join('\n')).toMatch(/cannot reach the users database \(postgresql:\/\/127\.0\.0\.1:1\/ringcloud/);
    expect(err.join('\n')).not.toContain('secretpw');
  });
});
