import { UsersApiKeyVerify } from '@ringcloud/contracts-users';
import { FakeUsers, md5 } from '../testing/fake-users-service';
import { call, errorEnvelope, GatewayRig, startGatewayRig, TestGateway } from '../testing/gateway';

const ADMIN_TOKEN = 'test-admin-token-0123456789';

/**
 * Key verifications are cached for a minute here, so only the UsersApiKeyChanged broadcast can
 * explain a gateway noticing a change: B caches, A changes the key (admin API), B must see it.
 */
describe('API key cache across gateway replicas', () => {
  let rig: GatewayRig;
  let fake: FakeUsers;
  let a: TestGateway;
  let b: TestGateway;

  beforeAll(async () => {
    const env = { RATE_LIMIT_PROFILE: 'bench', KEY_CACHE_TTL_MS: '60000', ADMIN_TOKEN };
    rig = await startGatewayRig(env, env);
    ({ fake, gateways: [a, b] } = rig);
  }, 30_000);

  afterAll(async () => {
    await rig?.close();
  });

  const admin = (method: string, path: string) =>
    call(a.url, method, `/admin/v1${path}`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
  const verifications = () => fake.count(UsersApiKeyVerify.subject);
  /** The broadcast travels on its own connection: give it a moment, far below the cache TTL. */
  const eventually = async (check: () => Promise<boolean>) => {
    for (let i = 0; i < 50 && !(await check()); i++) await new Promise((r) => setTimeout(r, 20));
    return check();
  };

  it('caches verifications, positive and negative', async () => {
    const key = fake.addKey(1001, 'RW');
    const before = verifications();
    for (let i = 0; i < 3; i++) expect((await call(b.url, 'GET', `/v1/users?${key.auth}`)).status).toBe(200);
    const unknown = `api_key=1001_${'b'.repeat(16)}&hash=${md5('x')}`;
    for (let i = 0; i < 3; i++) expect((await call(b.url, 'GET', `/v1/users?${unknown}`)).body).toEqual(errorEnvelope('API key does not exist'));
    expect(verifications()).toBe(before + 2);
  });

  it('drops a cached key on every replica when it is disabled, enabled, regenerated or deleted', async () => {
    const key = fake.addKey(1001, 'RW');
    const onB = (auth = key.auth) => call(b.url, 'GET', `/v1/users?${auth}`);
    expect((await onB()).status).toBe(200);
    const cached = verifications();
    expect((await onB()).status).toBe(200);
    expect(verifications()).toBe(cached);

    expect((await admin('POST', `/keys/${key.api_key}/disable`)).body.data).toMatchObject({ api_key: key.api_key, enabled: false });
    expect(await eventually(async () => (await onB()).body.message === 'API key is disabled')).toBe(true);

    expect((await admin('POST', `/keys/${key.api_key}/enable`)).status).toBe(200);
    expect(await eventually(async () => (await onB()).status === 200)).toBe(true);

    const regenerated = await admin('POST', `/keys/${key.api_key}/regenerate`);
    const fresh = `api_key=${key.api_key}&hash=${md5(key.api_key + regenerated.body.data.password)}`;
    expect(await eventually(async () => (await onB()).body.message === 'Invalid hash')).toBe(true);
    expect((await onB(fresh)).status).toBe(200);

    expect((await admin('DELETE', `/keys/${key.api_key}`)).body).toEqual({ status: 'success', message: null, data: null });
    expect(await eventually(async () => (await onB(fresh)).body.message === 'API key does not exist')).toBe(true);
  });
});
