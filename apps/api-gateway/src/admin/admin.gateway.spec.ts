import { UsersAccountList } from '@ringcloud/contracts-users';
import { startNatsServer, TestNats } from '@ringcloud/testing';
import { FakeUsers, md5, RunningFake, startFakeUsersService } from '../testing/fake-users-service';
import { call, dropRedisPrefix, errorEnvelope, startGateway, successEnvelope, TestGateway, testRedisPrefix } from '../testing/gateway';

const ADMIN_TOKEN = 'admin-token-for-tests-42';

describe('admin API', () => {
  let nats: TestNats;
  let users: RunningFake;
  let fake: FakeUsers;
  let gw: TestGateway;
  let disabled: TestGateway;
  const prefix = testRedisPrefix();

  beforeAll(async () => {
    nats = await startNatsServer();
    users = await startFakeUsersService(nats.url);
    fake = users.fake;
    const env = { NATS_URL: nats.url, REDIS_PREFIX: prefix };
    [gw, disabled] = await Promise.all([startGateway({ ...env, ADMIN_TOKEN }), startGateway(env)]);
  }, 30_000);

  afterAll(async () => {
    await Promise.all([gw?.close(), disabled?.close()]);
    await users?.stop();
    await nats?.stop();
    await dropRedisPrefix(prefix);
  });

  const admin = (method: string, path: string, body?: unknown, token = ADMIN_TOKEN, base = gw.url) =>
    call(base, method, `/admin/v1${path}`, {
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      headers: token ? { Authorization: `Bearer ${token}` } : {},
    });

  it('refuses without the right bearer token, and entirely when no token is configured', async () => {
    const before = fake.count(UsersAccountList.subject);
    expect((await admin('GET', '/accounts', undefined, ADMIN_TOKEN, disabled.url)).body).toEqual(errorEnvelope('Admin API is disabled'));
    expect((await admin('GET', '/accounts', undefined, '')).body).toEqual(errorEnvelope('Admin token is not specified'));
    const wrong = await admin('GET', '/accounts', undefined, `${ADMIN_TOKEN}x`);
    expect([wrong.status, wrong.body]).toEqual([403, errorEnvelope('Invalid admin token')]);
    expect(fake.count(UsersAccountList.subject)).toBe(before);
  });

  it('routes like v1: 404 for unknown URLs, 405 with Allow for other methods', async () => {
    expect((await admin('GET', '/nope')).status).toBe(404);
    const put = await admin('PUT', '/accounts');
    expect([put.status, put.headers.get('allow')]).toEqual([405, 'GET, POST']);
    const getKey = await admin('GET', '/keys/1001_abcdefgh');
    expect([getKey.status, getKey.headers.get('allow')]).toEqual([405, 'DELETE']);
  });

  it('creates and lists accounts', async () => {
    const created = await admin('POST', '/accounts', { account_id: 2001, name: 'Acme' });
    expect(created.body).toEqual(successEnvelope(expect.objectContaining({ account_id: 2001, name: 'Acme' })));
    const auto = await admin('POST', '/accounts', '{"name":"Auto"}');
    expect(auto.body.data.account_id).toEqual(expect.any(Number));
    const list = await admin('GET', '/accounts');
    expect(list.body.data.map((a: any) => a.name)).toEqual(expect.arrayContaining(['Acme', 'Auto']));
    expect(fake.accounts.get(2001)?.name).toBe('Acme');
  });

  it('validates bodies and path parameters', async () => {
    expect((await admin('POST', '/accounts', '{"name":')).body).toEqual(errorEnvelope('Malformed JSON body'));
    expect((await admin('POST', '/accounts', [])).body).toEqual(errorEnvelope('Body must be a JSON object'));
    expect((await admin('POST', '/accounts', { name: '' })).status).toBe(400);
    expect((await admin('POST', '/accounts', { name: 'X', account_id: -1 })).status).toBe(400);
    expect((await admin('POST', '/accounts/2001/keys', { access: 'ADMIN' })).status).toBe(400);
    expect((await admin('POST', '/accounts/2001/keys')).status).toBe(400);
    expect((await admin('GET', '/accounts/abc/keys')).body).toEqual(errorEnvelope('Account not found'));
    expect((await admin('GET', '/accounts/99999999999/keys')).body).toEqual(errorEnvelope('Account not found'));
    expect((await admin('POST', '/keys/not-a-key/disable')).body).toEqual(errorEnvelope('API key not found'));
    expect((await admin('POST', '/accounts/3999/keys', { access: 'RO' })).body).toEqual(errorEnvelope('Account not found'));
  });

  it('manages a key through its whole life, and the key works on v1', async () => {
    const created = await admin('POST', '/accounts/2001/keys', { access: 'RO' });
    expect(created.body.data).toEqual({ api_key: expect.stringMatching(/^2001_/), password: expect.any(String), access: 'RO' });
    const { api_key, password } = created.body.data;
    const v1 = (pw: string) => call(gw.url, 'GET', `/v1/users?api_key=${api_key}&hash=${md5(api_key + pw)}`);
    expect((await v1(password)).body).toEqual(successEnvelope([]));

    const listed = await admin('GET', '/accounts/2001/keys');
    expect(listed.body.data).toEqual([expect.objectContaining({ api_key, access: 'RO', enabled: true })]);
    expect(JSON.stringify(listed.body)).not.toContain(password);

    expect((await admin('POST', `/keys/${api_key}/disable`)).body.data.enabled).toBe(false);
    expect((await admin('POST', `/keys/${api_key}/enable`)).body.data.enabled).toBe(true);
    const regenerated = await admin('POST', `/keys/${api_key}/regenerate`);
    expect(regenerated.body.data.password).not.toBe(password);
    expect((await admin('POST', `/keys/${api_key}/delete`)).body).toEqual(successEnvelope(null));
    expect(fake.keys.has(api_key)).toBe(false);
    expect((await admin('DELETE', `/keys/${api_key}`)).body).toEqual(errorEnvelope('API key not found'));
  });
});
