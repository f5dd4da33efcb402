import { DomainError } from '@ringcloud/contracts-common';
import { UsersAccountListPage, UsersNumberAssign, UsersNumberList, UsersNumberReassign, UsersNumberRelease, UsersUserDelete } from '@ringcloud/contracts-users';
import { FakeUsers, md5 } from '../testing/fake-users-service';
import { call, errorEnvelope, GatewayRig, startGatewayRig, successEnvelope, TestGateway } from '../testing/gateway';

const ADMIN_TOKEN = 'admin-token-for-tests-42';

describe('admin API', () => {
  let rig: GatewayRig;
  let fake: FakeUsers;
  let gw: TestGateway;
  let disabled: TestGateway;

  beforeAll(async () => {
    rig = await startGatewayRig({ ADMIN_TOKEN }, {});
    ({ fake, gateways: [gw, disabled] } = rig);
  }, 30_000);

  afterAll(async () => {
    await rig?.close();
  });

  const admin = (method: string, path: string, body?: unknown, token = ADMIN_TOKEN, base = gw.url) =>
    call(base, method, `/admin/v1${path}`, {
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      headers: token ? { Authorization: `Bearer ${token}` } : {},
    });

  it('refuses without the right bearer token, and entirely when no token is configured', async () => {
    const before = fake.count(UsersAccountListPage.subject);
    expect((await admin('GET', '/accounts', undefined, ADMIN_TOKEN, disabled.url)).body).toEqual(errorEnvelope('Admin API is disabled'));
    expect((await admin('GET', '/accounts', undefined, '')).body).toEqual(errorEnvelope('Admin token is not specified'));
    const wrong = await admin('GET', '/accounts', undefined, `${ADMIN_TOKEN}x`);
    expect([wrong.status, wrong.body]).toEqual([403, errorEnvelope('Invalid admin token')]);
    expect(fake.count(UsersAccountListPage.subject)).toBe(before);
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

  it('lists every account of a large platform (a list bigger than one NATS message)', async () => {
    for (let id = 500_000; id < 505_000; id++) fake.addAccount(id, `Account ${id} ${'n'.repeat(150)}`);
    const res = await admin('GET', '/accounts');
    expect([res.status, res.body.data?.filter((a: any) => a.account_id >= 500_000).length]).toEqual([200, 5000]);
    for (let id = 500_000; id < 505_000; id++) fake.accounts.delete(id);
  }, 30_000);

  it('validates bodies and path parameters', async () => {
    expect((await admin('POST', '/accounts', '{"name":')).body).toEqual(errorEnvelope('Malformed JSON body'));
    expect((await admin('POST', '/accounts', [])).body).toEqual(errorEnvelope('Body must be a JSON object'));
    const nul = await admin('POST', '/accounts', '{"name":"a\\u0000b","account_id":6001}');
    expect([nul.status, nul.body]).toEqual([400, errorEnvelope('name must not contain NUL characters')]);
    expect(fake.accounts.has(6001)).toBe(false);
    for (const name of ['x\ny', 'a\u0007b', 'tab\there', 'del\u007f']) {
      const res = await admin('POST', '/accounts', { name, account_id: 6003 });
      expect([name, res.status, res.body]).toEqual([name, 400, errorEnvelope('name must not contain control characters')]);
    }
    expect(fake.accounts.has(6003)).toBe(false);
    const bom = await admin('POST', '/accounts', '\uFEFF{"name":"With BOM","account_id":6002}');
    expect([bom.status, bom.body.data?.name]).toEqual([200, 'With BOM']);
    expect((await admin('POST', '/accounts', { name: '' })).status).toBe(400);
    expect((await admin('POST', '/accounts', { name: 'X', account_id: -1 })).status).toBe(400);
    expect((await admin('POST', '/accounts/2001/keys', { access: 'ADMIN' })).status).toBe(400);
    expect((await admin('POST', '/accounts/2001/keys')).status).toBe(400);
    // Unknown keys are refused, not dropped: a misspelt account_id would create an account under another id.
    const misspelt = await admin('POST', '/accounts', { name: 'Typo', acount_id: 6004 });
    expect([misspelt.status, misspelt.body]).toEqual([400, errorEnvelope('unknown parameter acount_id')]);
    expect([...fake.accounts.values()].some((a: { name: string }) => a.name === 'Typo')).toBe(false);
    expect((await admin('POST', '/accounts/2001/keys', { access: 'RO', acess: 'RW' })).body).toEqual(errorEnvelope('unknown parameter acess'));
    expect((await admin('GET', '/accounts/abc/keys')).body).toEqual(errorEnvelope('Account not found'));
    expect((await admin('GET', '/accounts/99999999999/keys')).body).toEqual(errorEnvelope('Account not found'));
    expect((await admin('POST', '/keys/not-a-key/disable')).body).toEqual(errorEnvelope('API key not found'));
    expect((await admin('POST', '/accounts/3999/keys', { access: 'RO' })).body).toEqual(errorEnvelope('Account not found'));
    // Routes that take no query or no body refuse what they do not know, as the others do.
    expect((await admin('GET', '/accounts?x=1')).body).toEqual(errorEnvelope('unknown parameter x'));
    expect((await admin('GET', '/accounts/2001/keys?limit=abc')).body).toEqual(errorEnvelope('unknown parameter limit'));
    expect((await admin('GET', '/accounts/2001/numbers?x=1')).body).toEqual(errorEnvelope('unknown parameter x'));
    expect((await admin('POST', '/accounts', { name: 'Strict', account_id: 6005 })).status).toBe(200);
    const key = (await admin('POST', '/accounts/6005/keys', { access: 'RO' })).body.data.api_key;
    expect((await admin('POST', `/keys/${key}/disable`, { x: 1 })).body).toEqual(errorEnvelope('unknown parameter x'));
    expect((await admin('POST', `/keys/${key}/disable`, [])).body).toEqual(errorEnvelope('Body must be a JSON object'));
    expect((await admin('POST', `/keys/${key}/disable`, {})).status).toBe(200);
    expect((await admin('POST', `/keys/${key}/enable`)).status).toBe(200);
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

  describe('deleting users', () => {
    beforeAll(() => {
      fake.addAccount(3201);
      fake.addAccount(3202);
    });

    it('deletes with POST …/delete or DELETE, through the users-service command; its numbers are released', async () => {
      const user = fake.addUser(3201, '601');
      await admin('POST', '/numbers', { number: '74951110001', account_id: 3201, user });
      const before = fake.count(UsersUserDelete.subject);
      const deleted = await admin('POST', `/accounts/3201/users/${user}/delete`);
      expect([deleted.status, deleted.body]).toEqual([200, successEnvelope(null)]);
      expect(fake.count(UsersUserDelete.subject)).toBe(before + 1);
      expect(fake.users.has(user)).toBe(false);
      expect((await admin('GET', '/accounts/3201/numbers')).body).toEqual(successEnvelope([]));

      const other = fake.addUser(3201, '602');
      expect(await admin('DELETE', `/accounts/3201/users/${other}`)).toMatchObject({ status: 200, body: successEnvelope(null) });
      expect(fake.users.has(other)).toBe(false);
    });

    it('an unknown user, a deleted one or another account\'s is 404 User not found in the admin envelope', async () => {
      const user = fake.addUser(3202, '611');
      for (const [method, path] of [
        ['POST', `/accounts/3201/users/${user}/delete`], // another account's
        ['DELETE', '/accounts/3202/users/1000000001'], // unknown
      ] as const) {
        const res = await admin(method, path);
        expect([path, res.status, res.body]).toEqual([path, 404, errorEnvelope('User not found')]);
      }
      expect(fake.users.has(user)).toBe(true);
      await admin('DELETE', `/accounts/3202/users/${user}`);
      expect(await admin('DELETE', `/accounts/3202/users/${user}`)).toMatchObject({ status: 404, body: errorEnvelope('User not found') });
    });

    it('a malformed user or account in the path is 404 without asking the service; the admin token comes first', async () => {
      const user = fake.addUser(3202, '621');
      const before = fake.count(UsersUserDelete.subject);
      for (const path of ['/accounts/3202/users/bob/delete', '/accounts/3202/users/0123456/delete', '/accounts/3202/users/12345']) {
        const res = await admin(path.endsWith('/delete') ? 'POST' : 'DELETE', path);
        expect([path, res.status, res.body]).toEqual([path, 404, errorEnvelope('User not found')]);
      }
      expect((await admin('POST', `/accounts/abc/users/${user}/delete`)).body).toEqual(errorEnvelope('Account not found'));
      expect((await admin('POST', `/accounts/3202/users/${user}/delete`, '{oops')).body).toEqual(errorEnvelope('Malformed JSON body'));

      const get = await admin('GET', `/accounts/3202/users/${user}`);
      expect([get.status, get.headers.get('allow')]).toEqual([405, 'DELETE']);
      expect((await admin('DELETE', `/accounts/3202/users/${user}`, undefined, '')).body).toEqual(errorEnvelope('Admin token is not specified'));
      const wrong = await admin('POST', `/accounts/3202/users/${user}/delete`, undefined, 'nope');
      expect([wrong.status, wrong.body]).toEqual([403, errorEnvelope('Invalid admin token')]);
      expect((await admin('DELETE', `/accounts/3202/users/${user}`, undefined, ADMIN_TOKEN, disabled.url)).body).toEqual(errorEnvelope('Admin API is disabled'));
      expect(fake.count(UsersUserDelete.subject)).toBe(before);
      expect(fake.users.has(user)).toBe(true);
    });
  });

  describe('inbound numbers', () => {
    let a1: string;
    let a2: string;
    let b1: string;
    const numberCalls = () =>
      [UsersNumberList, UsersNumberAssign, UsersNumberReassign, UsersNumberRelease].reduce((sum, c) => sum + fake.count(c.subject), 0);

    beforeAll(() => {
      fake.addAccount(3101);
      fake.addAccount(3102);
      a1 = fake.addUser(3101, '401');
      a2 = fake.addUser(3101, '402');
      b1 = fake.addUser(3102, '501');
    });

    it('assigns, lists (all, by query, by account), reassigns and releases', async () => {
      const assigned = await admin('POST', '/numbers', { number: '+74951234567', account_id: 3101, user: a1 });
      expect([assigned.status, assigned.body]).toEqual([
        200,
        successEnvelope({ number: '74951234567', account_id: 3101, user: a1, num: '401', assigned_at: expect.any(String), updated_at: expect.any(String) }),
      ]);
      expect((await admin('POST', '/numbers', { number: '12025550100', account_id: 3102, user: b1 })).status).toBe(200);

      expect((await admin('GET', '/numbers')).body.data.map((n: any) => n.number)).toEqual(expect.arrayContaining(['74951234567', '12025550100']));
      expect((await admin('GET', '/numbers?account_id=3101')).body).toEqual(successEnvelope([assigned.body.data]));
      expect((await admin('GET', '/numbers?account_id=')).body.data.length).toBeGreaterThanOrEqual(2); // empty = absent
      expect((await admin('GET', '/accounts/3102/numbers')).body).toEqual(successEnvelope([expect.objectContaining({ number: '12025550100', user: b1 })]));

      const moved = await admin('POST', '/numbers/74951234567/reassign', { user: a2 });
      expect(moved.body).toEqual(successEnvelope(expect.objectContaining({ number: '74951234567', account_id: 3101, user: a2, num: '402' })));
      const across = await admin('POST', '/numbers/%2B74951234567/reassign', { user: b1, account_id: 3102 });
      expect(across.body.data).toMatchObject({ account_id: 3102, user: b1 });

      expect((await admin('POST', '/numbers/+74951234567/release')).body).toEqual(successEnvelope(null));
      expect((await admin('DELETE', '/numbers/12025550100')).body).toEqual(successEnvelope(null));
      expect((await admin('GET', '/accounts/3102/numbers')).body).toEqual(successEnvelope([]));
    });

    it('passes the service\'s refusals on: 400 taken / wrong user, 404 unassigned or unknown account, 503 unavailable', async () => {
      await admin('POST', '/numbers', { number: '74951230000', account_id: 3101, user: a1 });
      const taken = await admin('POST', '/numbers', { number: '74951230000', account_id: 3101, user: a2 });
      expect([taken.status, taken.body]).toEqual([400, errorEnvelope('number 74951230000 is already assigned')]);
      const foreign = await admin('POST', '/numbers', { number: '74951230001', account_id: 3101, user: b1 });
      expect([foreign.status, foreign.body]).toEqual([400, errorEnvelope(`user ${b1} not found in account 3101`)]);
      const reassignForeign = await admin('POST', '/numbers/74951230000/reassign', { user: b1 });
      expect([reassignForeign.status, reassignForeign.body]).toEqual([400, errorEnvelope(`user ${b1} not found in account 3101`)]);
      for (const [method, path, body] of [
        ['POST', '/numbers/74951239999/release', undefined],
        ['DELETE', '/numbers/74951239999', undefined],
        ['POST', '/numbers/74951239999/reassign', { user: a1 }],
      ] as const) {
        const res = await admin(method, path, body);
        expect([path, res.status, res.body]).toEqual([path, 404, errorEnvelope('number 74951239999 is not assigned')]);
      }
      expect(await admin('GET', '/accounts/3999/numbers')).toMatchObject({ status: 404, body: errorEnvelope('account 3999 not found') });
      expect(await admin('GET', '/numbers?account_id=3999')).toMatchObject({ status: 404, body: errorEnvelope('account 3999 not found') });

      fake.failNext.set(UsersNumberAssign.subject, DomainError.unavailable('users database is unavailable'));
      const down = await admin('POST', '/numbers', { number: '74951230002', account_id: 3101, user: a1 });
      expect([down.status, down.headers.get('retry-after')]).toEqual([503, '1']);
    });

    it('lists every number of a large platform (a list bigger than one NATS message)', async () => {
      fake.addAccount(3103);
      const user = fake.addUser(3103, '401');
      const now = new Date().toISOString();
      for (let i = 0; i < 8000; i++) fake.numbers.set(String(74990000000 + i), { account_id: 3103, user, assigned_at: now, updated_at: now });
      const all = await admin('GET', '/numbers?account_id=3103');
      expect([all.status, all.body.data?.length, all.body.data?.[7999]?.number]).toEqual([200, 8000, '74990007999']);
      expect((await admin('GET', '/accounts/3103/numbers')).body.data?.length).toBe(8000);
      for (const number of fake.numbers.keys()) if (number.startsWith('7499')) fake.numbers.delete(number);
    }, 30_000);

    it('refuses bad input with 400 and malformed path numbers with 404, without asking the service', async () => {
      const before = numberCalls();
      const bad: Array<[string, string, unknown, string | RegExp]> = [
        ['POST', '/numbers', { number: '123', account_id: 3101, user: a1 }, /^number must be an E\.164 phone number/],
        ['POST', '/numbers', { number: 'abc', account_id: 3101, user: a1 }, /E\.164/],
        ['POST', '/numbers', { number: '+0495123456', account_id: 3101, user: a1 }, /E\.164/],
        ['POST', '/numbers', { number: 74951234567, account_id: 3101, user: a1 }, /number/],
        ['POST', '/numbers', { account_id: 3101, user: a1 }, 'number is required'],
        ['POST', '/numbers', { number: '74951234567', user: a1 }, 'account_id is required'],
        ['POST', '/numbers', { number: '74951234567', account_id: 3101 }, 'user is required'],
        ['POST', '/numbers', { number: '74951234567', account_id: 3101, user: 'bob' }, 'user must be a numeric user name'],
        ['POST', '/numbers', undefined, 'number is required'],
        ['POST', '/numbers', '{"number":', 'Malformed JSON body'],
        ['POST', '/numbers', '[]', 'Body must be a JSON object'],
        ['POST', '/numbers/74951234567/reassign', {}, 'user is required'],
        ['POST', '/numbers/74951234567/reassign', { user: a1, account_id: 'x' }, /expected number/],
        // A misspelt optional field would otherwise be dropped: the number would stay in its account.
        ['POST', '/numbers/74951234567/reassign', { user: a1, acount_id: 3102 }, 'unknown parameter acount_id'],
        ['POST', '/numbers', { number: '74951234567', account_id: 3101, user: a1, note: 'x' }, 'unknown parameter note'],
        ['POST', '/numbers/74951234567/release', '{oops', 'Malformed JSON body'],
        ['GET', '/numbers?account_id=abc', undefined, 'account_id must be a positive account number'],
        ['GET', '/numbers?account_id=0', undefined, 'account_id must be a positive account number'],
        ['GET', '/numbers?account_id=99999999999', undefined, 'account_id must be a positive account number'],
        ['GET', '/numbers?account=3101', undefined, 'unknown parameter account'],
        ['GET', '/numbers?account_id=3101&account_id=3102', undefined, 'parameter account_id is given more than once'],
      ];
      for (const [method, path, body, message] of bad) {
        const res = await admin(method, path, body);
        expect({ method, path, status: res.status, envelope: res.body?.status }).toEqual({ method, path, status: 400, envelope: 'error' });
        if (typeof message === 'string') expect(res.body.message).toBe(message);
        else expect(res.body.message).toMatch(message);
      }
      for (const path of ['/numbers/123/release', '/numbers/abc/reassign', '/numbers/0495123456', '/numbers/%2B%2B7495123456/release']) {
        const res = await admin(path.split('/').length === 3 ? 'DELETE' : 'POST', path, path.endsWith('reassign') ? { user: a1 } : undefined);
        expect([path, res.status, res.body]).toEqual([path, 404, errorEnvelope('Number not found')]);
      }
      expect((await admin('GET', '/accounts/abc/numbers')).body).toEqual(errorEnvelope('Account not found'));
      expect(numberCalls()).toBe(before);
    });

    it('routes numbers like the rest: 405 with Allow, and the admin token first', async () => {
      const put = await admin('PUT', '/numbers');
      expect([put.status, put.headers.get('allow')]).toEqual([405, 'GET, POST']);
      const get = await admin('GET', '/numbers/74951234567');
      expect([get.status, get.headers.get('allow')]).toEqual([405, 'DELETE']);
      expect((await admin('GET', '/numbers/74951234567/release')).headers.get('allow')).toBe('POST');

      const before = numberCalls();
      expect((await admin('GET', '/numbers', undefined, '')).body).toEqual(errorEnvelope('Admin token is not specified'));
      const wrong = await admin('POST', '/numbers', { number: '74951234567', account_id: 3101, user: a1 }, 'nope');
      expect([wrong.status, wrong.body]).toEqual([403, errorEnvelope('Invalid admin token')]);
      expect((await admin('DELETE', '/numbers/74951234567', undefined, ADMIN_TOKEN, disabled.url)).body).toEqual(errorEnvelope('Admin API is disabled'));
      // A bad query or body is not even read before the token is checked.
      expect((await admin('GET', '/numbers?account_id=abc', undefined, 'nope')).status).toBe(403);
      expect(numberCalls()).toBe(before);
    });
  });
});
