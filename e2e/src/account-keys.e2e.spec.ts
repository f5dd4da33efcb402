import { V1Client, waitFor } from '@ringcloud/testing';
import { expectError, expectSuccess, newAccountId, useStack } from './support';

// The owner's key management (v1 extension), over two gateway replicas whose key-verification
// cache would keep a verdict for a minute: a change must still act at once on both, through the
// users.apikey.changed broadcast. "Last used" is flushed to Redis every 200 ms here.
const world = useStack({ gateways: 2, env: { KEY_CACHE_TTL_MS: '60000', KEY_USAGE_FLUSH_MS: '200' } });

const LAST_RW = 'The account must keep at least one enabled RW key: this is its last one';

/** A new account with one RW key (the caller) and `extra` more keys made by the operator. */
async function account(extra: Array<'RO' | 'RW'> = []) {
  const id = newAccountId();
  const owner = await world.client(id, 'RW');
  const others: V1Client[] = [];
  for (const access of extra) others.push(await world.client(id, access));
  return { id, owner, others };
}

/** The same credentials on the second replica. */
const onReplica2 = (client: V1Client) => world.clientFor(client.credentials, 1);

describe('key management for the account owner (GET/POST /v1/keys…)', () => {
  it('lists the account’s keys without any secret, and only its own', async () => {
    const { owner, others } = await account(['RO']);
    await account(['RW']); // a neighbour
    const keys = expectSuccess(await owner.get('/v1/keys'));
    expect(keys.map((k: any) => k.api_key).sort()).toEqual([owner.credentials.api_key, others[0].credentials.api_key].sort());
    for (const key of keys) {
      expect(Object.keys(key).sort()).toEqual(['access', 'api_key', 'created_at', 'enabled', 'last_used_at', 'password_changed_at']);
      expect(JSON.stringify(key)).not.toContain(owner.credentials.password);
      expect(JSON.stringify(key)).not.toContain(others[0].credentials.password);
    }
    expect(keys.find((k: any) => k.api_key === others[0].credentials.api_key)).toMatchObject({ access: 'RO', enabled: true });
  });

  it('records "last used" without a write per request: null until the key is used, then its time', async () => {
    const { owner, others } = await account(['RO']);
    const ro = others[0];
    const before = expectSuccess(await owner.get('/v1/keys')).find((k: any) => k.api_key === ro.credentials.api_key);
    expect(before.last_used_at).toBeNull();
    const usedAt = Date.now();
    expectSuccess(await onReplica2(ro).get('/v1/users'));
    // the other replica saw it: visible here once replica 2 has flushed to Redis
    let poll = 0;
    const after = await waitFor('last_used_at', async () => {
      const keys = expectSuccess(await owner.get('/v1/keys', { poll: String(++poll) }));
      return keys.find((k: any) => k.api_key === ro.credentials.api_key && k.last_used_at);
    });
    expect(Math.abs(Date.parse(after.last_used_at) - usedAt)).toBeLessThan(10_000);
  });

  it('is for RW keys only: a RO key gets 403 on every key route', async () => {
    const { others } = await account(['RO']);
    const ro = others[0];
    const key = ro.credentials.api_key;
    for (const res of [
      await ro.get('/v1/keys'),
      await ro.get(`/v1/keys/${key}`),
      await ro.post('/v1/keys/create', { access: 'RO' }),
      await ro.post(`/v1/keys/${key}/regenerate`),
      await ro.post(`/v1/keys/${key}/disable`),
      await ro.post(`/v1/keys/${key}/enable`),
      await ro.post(`/v1/keys/${key}/delete`),
    ]) {
      expectError(res, 403, 'API key is read-only');
    }
  });

  it('never reaches another account’s key: 404 for every verb, and that key keeps working', async () => {
    const { owner } = await account();
    const neighbour = await account(['RW']);
    const theirs = neighbour.others[0].credentials.api_key;
    expectError(await owner.get(`/v1/keys/${theirs}`), 404, 'API key not found');
    for (const verb of ['regenerate', 'disable', 'enable', 'delete']) {
      expectError(await owner.post(`/v1/keys/${theirs}/${verb}`), 404, 'API key not found');
    }
    expectSuccess(await neighbour.others[0].get('/v1/users'));
    expectSuccess(await neighbour.owner.get(`/v1/keys/${theirs}`));
    // malformed or unknown keys in the path
    expectError(await owner.get('/v1/keys/not-a-key'), 404, 'API key not found');
    expectError(await owner.post('/v1/keys/1_x/disable'), 404, 'API key not found');
    expectError(await owner.post(`/v1/keys/${owner.credentials.api_key.split('_')[0]}_doesnotexist000/delete`), 404, 'API key not found');
  });

  it('creates a key whose password is shown once and works at once; bad params are 400; 1 per 5 s', async () => {
    const { owner } = await account();
    // Limits count per exact URL, refused requests too (v1's order: rate limit, then params): each its own URL.
    expectError(await owner.post('/v1/keys/create?try=1', { access: 'XX' }), 400);
    expectError(await owner.post('/v1/keys/create?try=2', {}), 400);
    expectError(await owner.post('/v1/keys/create?try=3', { access: ['RW'] }), 400);
    expectError(await owner.raw('POST', '/v1/keys/create?try=4', { body: '{"params":' }), 400, 'Malformed JSON body');
    expectError(await owner.raw('POST', '/v1/keys/create?try=5', { body: 'x'.repeat(70_000) }), 413);
    const created = expectSuccess(await owner.post('/v1/keys/create', { access: 'RO' }));
    expect(created).toEqual({ api_key: expect.stringMatching(new RegExp(`^${owner.credentials.api_key.split('_')[0]}_[A-Za-z0-9]+$`)), password: expect.any(String), access: 'RO' });
    const fresh = world.clientFor(created, 1);
    expect(expectSuccess(await fresh.get('/v1/users'))).toEqual([]);
    expectError(await fresh.post('/v1/users/create', { password: 'Sip5ecret!', num: '401', mail: 'a@example.com' }), 403, 'API key is read-only');
    const listed = expectSuccess(await owner.get('/v1/keys')).find((k: any) => k.api_key === created.api_key);
    expect(listed).toMatchObject({ access: 'RO', enabled: true });
    const again = await owner.post('/v1/keys/create', { access: 'RO' });
    expectError(again, 429);
    expect(Number(again.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('regenerate: the old password is refused at once on both replicas, the new one works', async () => {
    const { owner, others } = await account(['RW']);
    const target = others[0];
    expectSuccess(await target.get('/v1/users', { warm: '1' }));
    expectSuccess(await onReplica2(target).get('/v1/users', { warm: '2' })); // cached on both replicas
    const fresh = expectSuccess(await owner.post(`/v1/keys/${target.credentials.api_key}/regenerate`));
    expect(fresh).toMatchObject({ api_key: target.credentials.api_key, access: 'RW' });
    expect(fresh.password).not.toBe(target.credentials.password);
    expectError(await target.get('/v1/users', { after: '1' }), 403, 'Invalid hash');
    await waitFor('replica 2 drops the old password', async () => (await onReplica2(target).get('/v1/users', { after: String(Math.random()) })).status === 403 || undefined, 2000);
    expectSuccess(await world.clientFor(fresh, 1).get('/v1/users'));
    const listed = expectSuccess(await owner.get(`/v1/keys/${target.credentials.api_key}`));
    expect(Date.parse(listed.password_changed_at)).toBeGreaterThan(Date.parse(listed.created_at));
  });

  it('disable refuses the key at once on both replicas (403 disabled); enable brings it back', async () => {
    const { owner, others } = await account(['RW']);
    const target = others[0];
    expectSuccess(await target.get('/v1/users', { warm: '1' }));
    expectSuccess(await onReplica2(target).get('/v1/users', { warm: '2' }));
    const info = expectSuccess(await owner.post(`/v1/keys/${target.credentials.api_key}/disable`));
    expect(info).toMatchObject({ api_key: target.credentials.api_key, enabled: false, access: 'RW' });
    expect(Object.keys(info)).not.toContain('password');
    expectError(await target.get('/v1/users', { after: '1' }), 403, 'API key is disabled');
    await waitFor('replica 2 refuses the disabled key', async () => (await onReplica2(target).get('/v1/users', { after: String(Math.random()) })).status === 403 || undefined, 2000);
    expectError(await onReplica2(target).get('/v1/users', { after: '2' }), 403, 'API key is disabled');
    expectSuccess(await owner.post(`/v1/keys/${target.credentials.api_key}/enable`));
    expectSuccess(await target.get('/v1/users', { again: '1' }));
    expectSuccess(await onReplica2(target).get('/v1/users', { again: '2' }));
  });

  it('delete: the key no longer exists, on both replicas, nor in the list', async () => {
    const { owner, others } = await account(['RO']);
    const target = others[0];
    expectSuccess(await onReplica2(target).get('/v1/users', { warm: '1' }));
    expect(expectSuccess(await owner.post(`/v1/keys/${target.credentials.api_key}/delete`))).toBeNull();
    expectError(await target.get('/v1/users'), 403, 'API key does not exist');
    await waitFor('replica 2 forgets the deleted key', async () => (await onReplica2(target).get('/v1/users', { after: String(Math.random()) })).status === 403 || undefined, 2000);
    expect(expectSuccess(await owner.get('/v1/keys')).map((k: any) => k.api_key)).toEqual([owner.credentials.api_key]);
    expectError(await owner.post(`/v1/keys/${target.credentials.api_key}/delete?again=1`), 404, 'API key not found');
  });

  it('never locks the account out: its last enabled RW key cannot be disabled or deleted, even by itself', async () => {
    const { owner, others } = await account(['RO']);
    const self = owner.credentials.api_key;
    expectError(await owner.post(`/v1/keys/${self}/disable`), 400, LAST_RW);
    expectError(await owner.post(`/v1/keys/${self}/delete`), 400, LAST_RW);
    expectSuccess(await owner.get('/v1/keys')); // still signed in
    // RO keys do not count: with another RW key, a key may retire itself
    expectSuccess(await owner.post(`/v1/keys/${others[0].credentials.api_key}/disable`));
    const second = await world.client(Number(self.split('_')[0]), 'RW');
    expect(expectSuccess(await owner.post(`/v1/keys/${self}/delete?again=1`))).toBeNull(); // the second RW key remains
    expectError(await owner.get('/v1/keys', { after: '1' }), 403, 'API key does not exist');
    expectError(await second.post(`/v1/keys/${second.credentials.api_key}/disable`), 400, LAST_RW);
    expectSuccess(await second.get('/v1/keys'));
  });
});
