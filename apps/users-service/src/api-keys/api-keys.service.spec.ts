import { DomainError } from '@ringcloud/contracts-common';
import { UsersApiKeyChanged } from '@ringcloud/contracts-users';
import { AccountsRepository } from '../accounts/accounts.repository';
import { ApiKeySecrets } from '../secrets/api-key-secrets';
import { TEST_PEPPER, TestEnv } from '../testing/fixture';
import { ApiKeysRepository } from './api-keys.repository';
import { ApiKeysService, LAST_RW_KEY, MAX_API_KEYS_PER_ACCOUNT } from './api-keys.service';
import { NatsKeyChangeNotifier } from './key-change-notifier';

describe('ApiKeysService (PostgreSQL + NATS)', () => {
  let env: TestEnv;
  let keys: ApiKeysService;
  const hashOf = (k: { api_key: string; password: string }) => ApiKeySecrets.v1Hash(k.api_key, k.password);

  beforeAll(async () => {
    env = await TestEnv.start();
    const accounts = new AccountsRepository(env.prisma);
    keys = new ApiKeysService(new ApiKeysRepository(env.prisma), accounts, new ApiKeySecrets(TEST_PEPPER), new NatsKeyChangeNotifier(env.nc));
  });
  afterAll(() => env.stop());

  /** Collects UsersApiKeyChanged broadcasts while `work` runs. */
  async function broadcastsDuring(work: () => Promise<unknown>): Promise<string[]> {
    const seen: string[] = [];
    const sub = env.nc.subscribe(UsersApiKeyChanged.subject, { callback: (_e, m) => void seen.push(UsersApiKeyChanged.event.parse(m.json()).api_key) });
    await env.nc.flush();
    await work();
    await env.nc.flush();
    await new Promise((r) => setTimeout(r, 100));
    sub.unsubscribe();
    return seen;
  }

  it('creates a key for a new account with create_account, and verifies the right hash in any case', async () => {
    const key = await keys.create({ account_id: 5001, access: 'RW', create_account: true });
    expect(key.api_key).toMatch(/^5001_[A-Za-z0-9]{24}$/);
    expect(key.password).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(key.access).toBe('RW');
    expect((await env.prisma.account.findUnique({ where: { id: 5001 } }))?.name).toBe('Account 5001');

    const ok = { ok: true, account_id: 5001, access: 'RW' };
    expect(await keys.verify({ api_key: key.api_key, hash: hashOf(key) })).toEqual(ok);
    expect(await keys.verify({ api_key: key.api_key, hash: hashOf(key).toUpperCase() })).toEqual(ok);
  });

  it('answers unknown_key and invalid_hash', async () => {
    const key = await keys.create({ account_id: 5002, access: 'RO', create_account: true });
    expect(await keys.verify({ api_key: '5002_doesnotexistdoesnotexist', hash: hashOf(key) })).toEqual({ ok: false, reason: 'unknown_key' });
    expect(await keys.verify({ api_key: 'garbage key', hash: hashOf(key) })).toEqual({ ok: false, reason: 'unknown_key' });
    expect(await keys.verify({ api_key: key.api_key, hash: ApiKeySecrets.v1Hash(key.api_key, 'wrong') })).toEqual({ ok: false, reason: 'invalid_hash' });
    expect(await keys.verify({ api_key: key.api_key, hash: key.password })).toEqual({ ok: false, reason: 'invalid_hash' });
    expect(await keys.verify({ api_key: key.api_key, hash: hashOf(key) })).toEqual({ ok: true, account_id: 5002, access: 'RO' });
  });

  it('stores only salt and a digest that neither equals nor contains the hash or the password', async () => {
    const key = await keys.create({ account_id: 5003, access: 'RW', create_account: true });
    const row = await env.prisma.apiKey.findUniqueOrThrow({ where: { key: key.api_key } });
    const stored = JSON.stringify(row);
    for (const secret of [hashOf(key), hashOf(key).toUpperCase(), key.password]) {
      expect(row.secretDigest).not.toBe(secret);
      expect(stored).not.toContain(secret);
    }
    expect(row.salt).toMatch(/^[0-9a-f]{32}$/);
  });

  it('tells "disabled" only to a caller with the right hash, and broadcasts enable/disable', async () => {
    const key = await keys.create({ account_id: 5004, access: 'RW', create_account: true });
    const seen = await broadcastsDuring(async () => {
      const info = await keys.setEnabled(key.api_key, false);
      expect(info).toMatchObject({ api_key: key.api_key, account_id: 5004, access: 'RW', enabled: false });
    });
    expect(seen).toEqual([key.api_key]);
    expect(await keys.verify({ api_key: key.api_key, hash: hashOf(key) })).toEqual({ ok: false, reason: 'disabled' });
    expect(await keys.verify({ api_key: key.api_key, hash: ApiKeySecrets.v1Hash(key.api_key, 'x') })).toEqual({ ok: false, reason: 'invalid_hash' });
    expect(await broadcastsDuring(() => keys.setEnabled(key.api_key, true))).toEqual([key.api_key]);
    expect((await keys.verify({ api_key: key.api_key, hash: hashOf(key) })).ok).toBe(true);
  });

  it('regenerate: the old password stops working, the new one works, and gateways are told', async () => {
    const key = await keys.create({ account_id: 5005, access: 'RO', create_account: true });
    let fresh!: Awaited<ReturnType<ApiKeysService['regenerate']>>;
    expect(await broadcastsDuring(async () => (fresh = await keys.regenerate(key.api_key)))).toEqual([key.api_key]);
    expect(fresh.api_key).toBe(key.api_key);
    expect(fresh.access).toBe('RO');
    expect(fresh.password).not.toBe(key.password);
    expect(await keys.verify({ api_key: key.api_key, hash: hashOf(key) })).toEqual({ ok: false, reason: 'invalid_hash' });
    expect(await keys.verify({ api_key: key.api_key, hash: hashOf(fresh) })).toEqual({ ok: true, account_id: 5005, access: 'RO' });
  });

  it('delete: the key becomes unknown, is broadcast, and a second delete is NOT_FOUND', async () => {
    const key = await keys.create({ account_id: 5006, access: 'RW', create_account: true });
    expect(await broadcastsDuring(() => keys.delete(key.api_key))).toEqual([key.api_key]);
    expect(await keys.verify({ api_key: key.api_key, hash: hashOf(key) })).toEqual({ ok: false, reason: 'unknown_key' });
    await expect(keys.delete(key.api_key)).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'API key not found' });
    await expect(keys.regenerate(key.api_key)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(keys.setEnabled(key.api_key, true)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('refuses an unknown account without create_account, and lists keys without secrets', async () => {
    await expect(keys.create({ account_id: 5999, access: 'RW', create_account: false })).rejects.toEqual(DomainError.notFound('account 5999 not found'));
    expect(await env.prisma.apiKey.count({ where: { accountId: 5999 } })).toBe(0);
    await expect(keys.list(5999)).rejects.toMatchObject({ code: 'NOT_FOUND' });

    const a = await keys.create({ account_id: 5007, access: 'RW', create_account: true });
    const b = await keys.create({ account_id: 5007, access: 'RO', create_account: false });
    const listed = await keys.list(5007);
    expect(listed.map((k) => k.api_key).sort()).toEqual([a.api_key, b.api_key].sort());
    for (const info of listed) {
      expect(Object.keys(info).sort()).toEqual(['access', 'account_id', 'api_key', 'created_at', 'enabled', 'password_changed_at']);
      expect(JSON.stringify(info)).not.toContain(a.password);
    }
  });

  it('concurrent creates with create_account make one account and every key', async () => {
    const created = await Promise.all(Array.from({ length: 5 }, () => keys.create({ account_id: 5008, access: 'RW', create_account: true })));
    expect(new Set(created.map((k) => k.api_key)).size).toBe(5);
    expect(await env.prisma.apiKey.count({ where: { accountId: 5008 } })).toBe(5);
  });

  describe("the owner's scope (account_id set: the v1 key-management extension)", () => {
    it("another account's key is NOT_FOUND for every verb, and stays untouched", async () => {
      const mine = await keys.create({ account_id: 5101, access: 'RW', create_account: true });
      const theirs = await keys.create({ account_id: 5102, access: 'RW', create_account: true });
      await keys.create({ account_id: 5102, access: 'RW', create_account: false });
      const notFound = { code: 'NOT_FOUND', message: 'API key not found' };
      await expect(keys.setEnabled(theirs.api_key, false, 5101)).rejects.toMatchObject(notFound);
      await expect(keys.regenerate(theirs.api_key, 5101)).rejects.toMatchObject(notFound);
      await expect(keys.delete(theirs.api_key, 5101)).rejects.toMatchObject(notFound);
      expect(await keys.verify({ api_key: theirs.api_key, hash: hashOf(theirs) })).toEqual({ ok: true, account_id: 5102, access: 'RW' });
      expect((await keys.regenerate(mine.api_key, 5101)).api_key).toBe(mine.api_key);
    });

    it("refuses to disable or delete the account's last enabled RW key, whoever asks", async () => {
      const rw = await keys.create({ account_id: 5103, access: 'RW', create_account: true });
      const ro = await keys.create({ account_id: 5103, access: 'RO', create_account: false });
      const lastRw = { code: 'BAD_REQUEST', message: LAST_RW_KEY };
      await expect(keys.setEnabled(rw.api_key, false, 5103)).rejects.toMatchObject(lastRw);
      await expect(keys.delete(rw.api_key, 5103)).rejects.toMatchObject(lastRw);
      // RO keys never count, either way
      expect(await keys.setEnabled(ro.api_key, false, 5103)).toMatchObject({ enabled: false });
      expect(await keys.delete(ro.api_key, 5103)).toBeNull();

      const second = await keys.create({ account_id: 5103, access: 'RW', create_account: false });
      expect(await keys.setEnabled(rw.api_key, false, 5103)).toMatchObject({ enabled: false });
      await expect(keys.setEnabled(second.api_key, false, 5103)).rejects.toMatchObject(lastRw);
      // enabling is always fine; a disabled key may be deleted while an enabled RW key remains
      expect(await keys.setEnabled(rw.api_key, true, 5103)).toMatchObject({ enabled: true });
      expect(await keys.delete(second.api_key, 5103)).toBeNull();
      // the operator (no account_id) is not bound by the rule
      expect(await keys.setEnabled(rw.api_key, false)).toMatchObject({ enabled: false });
    });

    it('two RW keys disabling each other at the same time: exactly one succeeds', async () => {
      for (let round = 0; round < 5; round++) {
        const account = 5110 + round;
        const a = await keys.create({ account_id: account, access: 'RW', create_account: true });
        const b = await keys.create({ account_id: account, access: 'RW', create_account: false });
        const results = await Promise.allSettled([keys.setEnabled(a.api_key, false, account), keys.setEnabled(b.api_key, false, account)]);
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        expect(await env.prisma.apiKey.count({ where: { accountId: account, enabled: true } })).toBe(1);
      }
    });

    it('max_keys caps an account, also under concurrent creations', async () => {
      await keys.create({ account_id: 5120, access: 'RW', create_account: true });
      const results = await Promise.allSettled(Array.from({ length: 6 }, () => keys.create({ account_id: 5120, access: 'RO', create_account: false, max_keys: 4 })));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
      expect(results.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: 'BAD_REQUEST', message: 'An account may have at most 4 API keys' } });
      expect(await env.prisma.apiKey.count({ where: { accountId: 5120 } })).toBe(4);
    });

    it('caps every creator (the admin API, the CLI) at MAX_API_KEYS_PER_ACCOUNT: the key list must fit one reply', async () => {
      await keys.create({ account_id: 5121, access: 'RW', create_account: true });
      const filler = Array.from({ length: MAX_API_KEYS_PER_ACCOUNT - 1 }, (_, i) => ({ key: `5121_filler${i}`, accountId: 5121, access: 'RO' as const, secretDigest: 'x', salt: 'y' }));
      await env.prisma.apiKey.createMany({ data: filler });
      await expect(keys.create({ account_id: 5121, access: 'RO', create_account: false })).rejects.toMatchObject({
        code: 'BAD_REQUEST',
        message: `An account may have at most ${MAX_API_KEYS_PER_ACCOUNT} API keys`,
      });
      // The owner's lower cap still says its own number.
      await expect(keys.create({ account_id: 5121, access: 'RO', create_account: false, max_keys: 100 })).rejects.toMatchObject({ message: 'An account may have at most 100 API keys' });
      const listed = await keys.list(5121);
      expect(listed).toHaveLength(MAX_API_KEYS_PER_ACCOUNT);
      expect(Buffer.byteLength(JSON.stringify(listed))).toBeLessThan(512 * 1024);
    });
  });
});
