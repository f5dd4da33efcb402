import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { UsersApiKeyChanged } from '@ringcloud/contracts-users';
import { AccountsRepository } from '../accounts/accounts.repository';
import { ApiKeysRepository } from '../api-keys/api-keys.repository';
import { ApiKeysService } from '../api-keys/api-keys.service';
import { NoopKeyChangeNotifier } from '../api-keys/key-change-notifier';
import { ApiKeySecrets } from '../secrets/api-key-secrets';
import { TEST_PEPPER, TestEnv } from '../testing/fixture';
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
