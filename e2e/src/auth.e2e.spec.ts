import { V1Client, md5 } from '@ringcloud/testing';
import { expectError, expectSuccess, newAccountId, sleep, useStack } from './support';

// Two gateway replicas: key changes must reach both.
const world = useStack({ gateways: 2 });

describe('authentication and access (spec sections 1, 3, 4)', () => {
  let rw: V1Client;
  let base: string;

  beforeAll(async () => {
    rw = await world.client(newAccountId(), 'RW');
    base = world.stack.gateways[0];
  });

  const get = async (query: string) => {
    const res = await fetch(`${base}/v1/users?${query}`);
    return { status: res.status, body: (await res.json()) as any };
  };

  it('answers each 403 case with its own message', async () => {
    const { api_key } = rw.credentials;
    expectError(await get(''), 403, 'API key is not specified');
    expectError(await get(`api_key=${api_key}`), 403, 'Hash is not specified');
    expectError(await get(`api_key=1001_doesnotexist00000000000&hash=${md5('x')}`), 403, 'API key does not exist');
    expectError(await get(`api_key=${api_key}&hash=${md5('wrong')}`), 403, 'Invalid hash');
    expectError(await get(`api_key=garbage&hash=zz`), 403, 'API key does not exist');
  });

  it('accepts the hash in upper case too and ignores unknown query parameters', async () => {
    const res = await get(`api_key=${rw.credentials.api_key}&hash=${rw.hash.toUpperCase()}&utm_source=crm`);
    expect(res.status).toBe(200);
  });

  it('refuses a read-only key on POST but serves its GETs', async () => {
    const ro = await world.client(newAccountId(), 'RO');
    expectError(await ro.post('/v1/users/create', { password: 'Sip5ecret!', num: '401', mail: 'a@example.com' }), 403, 'API key is read-only');
    expectSuccess(await ro.get('/v1/users'));
  });

  it('answers 404 with the envelope for unknown URLs and 405 for the wrong method', async () => {
    expectError(await rw.get('/v1/nothing-here'), 404);
    expectError(await rw.get('/'), 404);
    const wrong = await rw.post('/v1/users', {});
    expectError(wrong, 405);
    expect(wrong.headers.get('allow')).toMatch(/GET/);
    expectError(await rw.get('/v1/users/create'), 405); // the literal create URL wins over /v1/users/<username>
    for (const method of ['PUT', 'DELETE', 'PATCH']) {
      const res = await rw.raw(method, '/v1/users');
      expectError(res, 405);
    }
    expectError(await rw.get('/v1/calls'), 405);
  });

  it('stops a disabled key on every replica within 1 second, and re-enables it', async () => {
    const client = await world.client(newAccountId(), 'RW');
    const other = world.clientFor(client.credentials, 1);
    expectSuccess(await client.get('/v1/users', { r: '0' }));
    expectSuccess(await other.get('/v1/users', { r: '1' })); // both replicas now hold it in cache
    const disabled = await world.admin.call('POST', `/admin/v1/keys/${client.credentials.api_key}/disable`);
    expect(disabled.status).toBe(200);
    await sleep(1000);
    expectError(await client.get('/v1/users', { t: '1' }), 403, 'API key is disabled');
    expectError(await other.get('/v1/users', { t: '1' }), 403, 'API key is disabled');
    expect((await world.admin.call('POST', `/admin/v1/keys/${client.credentials.api_key}/enable`)).status).toBe(200);
    await sleep(1000);
    expectSuccess(await other.get('/v1/users', { t: '2' }));
  });

  it('regenerating a password refuses the old one on every replica and accepts the new one', async () => {
    const client = await world.client(newAccountId(), 'RW');
    const other = world.clientFor(client.credentials, 1);
    expectSuccess(await other.get('/v1/users'));
    const res = await world.admin.call('POST', `/admin/v1/keys/${client.credentials.api_key}/regenerate`);
    expect(res.status).toBe(200);
    const fresh = res.body.data;
    expect(fresh.password).not.toBe(client.credentials.password);
    await sleep(1000);
    expectError(await other.get('/v1/users', { t: '1' }), 403, 'Invalid hash');
    expectSuccess(await world.clientFor({ api_key: fresh.api_key, password: fresh.password }, 1).get('/v1/users', { t: '2' }));
  });

  it('a deleted key no longer exists', async () => {
    const client = await world.client(newAccountId(), 'RW');
    expectSuccess(await client.get('/v1/users'));
    expect((await world.admin.call('POST', `/admin/v1/keys/${client.credentials.api_key}/delete`)).status).toBe(200);
    await sleep(1000);
    expectError(await client.get('/v1/users', { t: '1' }), 403, 'API key does not exist');
  });

  it('guards the admin API with the admin token', async () => {
    const noToken = await fetch(`${base}/admin/v1/accounts`);
    expect(noToken.status).toBe(403);
    const wrong = await fetch(`${base}/admin/v1/accounts`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(403);
    expect(((await wrong.json()) as any).status).toBe('error');
    const listed = await world.admin.call('GET', '/admin/v1/accounts');
    expect(listed.status).toBe(200);
    expect(Array.isArray(listed.body.data)).toBe(true);
  });

  it('serves health, readiness and the OpenAPI document', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const doc: any = await (await fetch(`${base}/docs/openapi.json`)).json();
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/users', '/v1/calls', '/v1/users/create']));
    const page = await fetch(`${base}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/html/);
  });
});
