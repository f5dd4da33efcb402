import { INestMicroservice } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DomainError } from '@ringcloud/contracts-common';
import {
  UsersAccountCreate,
  UsersAccountList,
  UsersAccountListPage,
  UsersApiKeyChanged,
  UsersApiKeyCreate,
  UsersApiKeyDelete,
  UsersApiKeyList,
  UsersApiKeyRegenerate,
  UsersApiKeySetEnabled,
  UsersApiKeyVerify,
  UsersHealthPing,
  UsersNumberAssign,
  UsersNumberList,
  UsersNumberListPage,
  UsersNumberReassign,
  UsersNumberRelease,
  UsersUserCreate,
  UsersUserGet,
  UsersUserList,
  UsersUserSetVoicemail,
  UsersUserUpdateEmail,
  UsersUserUpdateExtension,
  UsersUserUpdatePassword,
} from '@ringcloud/contracts-users';
import { RpcClient, createNatsMicroservice } from '@ringcloud/nest-nats';
import { AppModule } from './app.module';
import { ApiKeySecrets } from './secrets/api-key-secrets';
import { TestNats, holdTable, startNatsServer } from '@ringcloud/testing';
import { TEST_PEPPER, TEST_SIP_KEY, TestEnv, eventually } from './testing/fixture';
import { UsersConfig } from './config/users-config';

const baseConfig = (natsUrl: string): UsersConfig => ({
  nodeEnv: 'test',
  natsUrl,
  natsRequestTimeoutMs: 3000,
  logLevel: 'error',
  databaseUrl: '',
  apiKeyPepper: TEST_PEPPER,
  sipSecretKey: TEST_SIP_KEY,
  sipRealm: 'ringcloud',
  outboxSweepMs: 1000,
});

/** The real microservice on a private NATS, called the way the gateway calls it. */
describe('users-service over NATS (end to end)', () => {
  let env: TestEnv;
  let app: INestMicroservice;
  let rpc: RpcClient;

  beforeAll(async () => {
    env = await TestEnv.start();
    app = await createNatsMicroservice(AppModule.forRoot(env.config()), { servers: env.nats.url, queue: 'users-service', logger: false });
    await app.listen();
    rpc = new RpcClient({ servers: env.nats.url, requestTimeoutMs: 3000, name: 'test-gateway' });
    await rpc.connect();
  });
  afterAll(async () => {
    await rpc?.onApplicationShutdown();
    await app?.close();
    await env.stop();
  });

  /**
   * Sends any payload in Nest's request packet straight over NATS (ClientNats itself refuses
   * null), and returns the error the service answered.
   */
  async function rawError(subject: string, payload: unknown): Promise<{ code?: string; message?: string }> {
    const packet = JSON.stringify({ pattern: subject, data: payload, id: randomUUID() });
    const reply = (await env.nc.request(subject, packet, { timeout: 3000 })).json<{ err?: { code?: string; message?: string } }>();
    return reply.err ?? {};
  }

  it('answers the health ping', async () => {
    expect(await rpc.send(UsersHealthPing.contract, {})).toEqual({ status: 'ok' });
  });

  it('runs the key life cycle: create, verify, list, disable, regenerate, delete', async () => {
    const account = await rpc.send(UsersAccountCreate.contract, { name: 'E2E' });
    expect(account.account_id).toBeGreaterThanOrEqual(1001);
    expect((await rpc.send(UsersAccountList.contract, {})).map((a) => a.account_id)).toContain(account.account_id);
    // The same list page by page (by account id), as the admin API reads it.
    const all = await rpc.send(UsersAccountList.contract, {});
    const paged = [];
    let cursor: string | null | undefined;
    do {
      const page = await rpc.send(UsersAccountListPage.contract, { page: cursor ? { limit: 1, cursor } : { limit: 1 } });
      paged.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor);
    expect(paged).toEqual(all);

    const key = await rpc.send(UsersApiKeyCreate.contract, { account_id: account.account_id, access: 'RW' });
    const hash = ApiKeySecrets.v1Hash(key.api_key, key.password);
    expect(await rpc.send(UsersApiKeyVerify.contract, { api_key: key.api_key, hash })).toEqual({ ok: true, account_id: account.account_id, access: 'RW' });
    expect(await rpc.send(UsersApiKeyList.contract, { account_id: account.account_id })).toHaveLength(1);

    const changes: string[] = [];
    const sub = env.nc.subscribe(UsersApiKeyChanged.subject, { callback: (_e, m) => void changes.push(m.json<{ api_key: string }>().api_key) });
    await env.nc.flush();
    expect((await rpc.send(UsersApiKeySetEnabled.contract, { api_key: key.api_key, enabled: false })).enabled).toBe(false);
    expect(await rpc.send(UsersApiKeyVerify.contract, { api_key: key.api_key, hash })).toEqual({ ok: false, reason: 'disabled' });
    await rpc.send(UsersApiKeySetEnabled.contract, { api_key: key.api_key, enabled: true });
    const fresh = await rpc.send(UsersApiKeyRegenerate.contract, { api_key: key.api_key });
    expect(await rpc.send(UsersApiKeyVerify.contract, { api_key: key.api_key, hash })).toEqual({ ok: false, reason: 'invalid_hash' });
    expect(await rpc.send(UsersApiKeyDelete.contract, { api_key: fresh.api_key })).toBeNull();
    expect(await rpc.send(UsersApiKeyVerify.contract, { api_key: key.api_key, hash })).toEqual({ ok: false, reason: 'unknown_key' });
    await eventually(async () => changes.length === 4);
    expect(changes).toEqual(Array(4).fill(key.api_key));
    sub.unsubscribe();

    await expect(rpc.send(UsersApiKeyCreate.contract, { account_id: 777777, access: 'RO' })).rejects.toEqual(
      DomainError.notFound('account 777777 not found'),
    );
  });

  it('runs the user verbs, scoped by account, with v1 errors', async () => {
    await rpc.send(UsersApiKeyCreate.contract, { account_id: 6001, access: 'RW', create_account: true });
    await rpc.send(UsersApiKeyCreate.contract, { account_id: 6002, access: 'RW', create_account: true });
    const user = await rpc.send(UsersUserCreate.contract, { account_id: 6001, password: 'Str0ngPass', num: 401, mail: ' ivan@example.com ' });
    expect(user).toMatch(/^[1-9][0-9]{9}$/);
    const target = { account_id: 6001, user };

    expect(await rpc.send(UsersUserUpdatePassword.contract, { ...target, password: 'N3wPassword' })).toBeNull();
    expect(await rpc.send(UsersUserUpdateExtension.contract, { ...target, num: '402' })).toBeNull();
    expect(await rpc.send(UsersUserUpdateEmail.contract, { ...target, mail: 'olga@example.com' })).toBeNull();
    expect(await rpc.send(UsersUserSetVoicemail.contract, { ...target, enabled: true })).toBeNull();
    expect(await rpc.send(UsersUserGet.contract, { ...target, include_password: true })).toEqual({
      account_id: 6001,
      user,
      num: '402',
      mail: 'olga@example.com',
      voice_mail_box: 'on',
      password: 'N3wPassword',
    });
    expect(await rpc.send(UsersUserList.contract, { account_id: 6001, include_password: false })).toEqual([
      { account_id: 6001, user, num: '402', mail: 'olga@example.com', voice_mail_box: 'on', password: null },
    ]);

    // Another tenant sees nothing, and is told nothing more than "not found".
    expect(await rpc.send(UsersUserList.contract, { account_id: 6002, include_password: true })).toEqual([]);
    const notFound = DomainError.notFound('User not found');
    await expect(rpc.send(UsersUserGet.contract, { account_id: 6002, user, include_password: true })).rejects.toEqual(notFound);
    await expect(rpc.send(UsersUserUpdateEmail.contract, { account_id: 6002, user, mail: 'x@example.com' })).rejects.toEqual(notFound);

    await expect(rpc.send(UsersUserCreate.contract, { account_id: 6001, password: 'Str0ngPass', num: '402', mail: 'a@example.com' })).rejects.toEqual(
      DomainError.badRequest('extension 402 is already used in this account'),
    );
  });

  it('answers a create retried with the same request_id with the user it made (a 503 whose first attempt finished after all)', async () => {
    const request_id = 'a'.repeat(64);
    const params = { account_id: 6001, password: 'Str0ngPass', num: '470', mail: 'retry@example.com', request_id };
    const user = await rpc.send(UsersUserCreate.contract, params);
    expect(await rpc.send(UsersUserCreate.contract, { ...params, mail: ' retry@example.com ' })).toBe(user);
    expect((await rpc.send(UsersUserList.contract, { account_id: 6001, include_password: false })).filter((u) => u.num === '470')).toHaveLength(1);
    // The same key with other params, or in another account, is not that request.
    const mismatch = DomainError.badRequest('Idempotency-Key was already used with other params: use a new key for a new request');
    await expect(rpc.send(UsersUserCreate.contract, { ...params, password: 'Other0Pass' })).rejects.toEqual(mismatch);
    await expect(rpc.send(UsersUserCreate.contract, { ...params, num: '471' })).rejects.toEqual(mismatch);
    await expect(rpc.send(UsersUserCreate.contract, { ...params, account_id: 6002 })).resolves.not.toBe(user);
    // Without the request id, or with another one, the extension is taken.
    const taken = DomainError.badRequest('extension 470 is already used in this account');
    await expect(rpc.send(UsersUserCreate.contract, { ...params, request_id: undefined })).rejects.toEqual(taken);
    await expect(rpc.send(UsersUserCreate.contract, { ...params, request_id: 'b'.repeat(64) })).rejects.toEqual(taken);
    await expect(rpc.send(UsersUserCreate.contract, { ...params, request_id: 'not a digest' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('leaves nothing behind for a requester that gave up while the database held its create or new password (the client was told it failed)', async () => {
    const { account_id } = await rpc.send(UsersAccountCreate.contract, { name: 'Patience' });
    const key = await rpc.send(UsersApiKeyCreate.contract, { account_id, access: 'RW' });
    const hash = ApiKeySecrets.v1Hash(key.api_key, key.password);
    const afterHolding = async (table: string, request: () => Promise<unknown>) => {
      const { released } = await holdTable(env.schema.databaseUrl, table, 1500);
      await expect(request()).rejects.toMatchObject({ code: 'UNAVAILABLE' }); // the requester's 400 ms are over
      await released;
      await new Promise((r) => setTimeout(r, 300)); // the service has its rows now
    };

    // An account made for an admin that gave up would stay for good (accounts are never deleted).
    await afterHolding('accounts', () => rpc.send(UsersAccountCreate.contract, { name: 'Late tenant' }, 400));
    expect((await rpc.send(UsersAccountList.contract, {})).filter((a) => a.name === 'Late tenant')).toEqual([]);

    const user = { account_id, password: 'Str0ngPass', num: '480', mail: 'late@example.com' };
    await afterHolding('users', () => rpc.send(UsersUserCreate.contract, user, 400));
    expect(await rpc.send(UsersUserList.contract, { account_id, include_password: false })).toEqual([]);
    // Its retry creates the user (not "extension 480 is already used").
    await expect(rpc.send(UsersUserCreate.contract, user)).resolves.toMatch(/^\d{10}$/);

    // A key or a password nobody receives would be lost: none is made.
    await afterHolding('api_keys', () => rpc.send(UsersApiKeyCreate.contract, { account_id, access: 'RO' }, 400));
    expect(await rpc.send(UsersApiKeyList.contract, { account_id })).toHaveLength(1);
    await afterHolding('api_keys', () => rpc.send(UsersApiKeyRegenerate.contract, { api_key: key.api_key }, 400));
    expect(await rpc.send(UsersApiKeyVerify.contract, { api_key: key.api_key, hash })).toEqual({ ok: true, account_id, access: 'RW' });
  });

  it('answers BAD_REQUEST with a clear message for invalid parameters', async () => {
    const create = (params: object) => rpc.send(UsersUserCreate.contract, { account_id: 6001, password: 'Str0ngPass', num: '450', mail: 'a@example.com', ...params } as any);
    await expect(create({ password: 'abc' })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/too weak/) });
    await expect(create({ password: '' })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: 'password must not be empty' });
    await expect(create({ num: '4' })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: 'num must be a string of 2 to 6 digits' });
    await expect(create({ mail: 'not-an-email' })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: 'mail is not a valid email address' });
    await expect(create({ mail: undefined })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: 'mail is required' });
    expect(await env.prisma.user.count({ where: { extension: '450' } })).toBe(0);
  });

  it('never answers INTERNAL to a malformed payload', async () => {
    const cases: Array<[string, unknown]> = [
      [UsersUserGet.subject, null],
      [UsersUserGet.subject, 'a string'],
      [UsersUserGet.subject, [1, 2]],
      [UsersUserGet.subject, { account_id: 'abc', user: '1679728441', include_password: true }],
      [UsersUserGet.subject, { account_id: 6001, user: '../../etc', include_password: true }],
      [UsersUserList.subject, { account_id: -1, include_password: 'yes' }],
      [UsersUserCreate.subject, { account_id: 6001, password: { $ne: 1 }, num: [401], mail: 42 }],
      [UsersUserSetVoicemail.subject, { account_id: 6001, user: '1679728441' }],
      [UsersApiKeyVerify.subject, { api_key: 'x'.repeat(10_000), hash: 'y' }],
      [UsersApiKeyVerify.subject, {}],
      [UsersApiKeyCreate.subject, { account_id: 6001, access: 'ADMIN' }],
      [UsersApiKeySetEnabled.subject, { api_key: '1001_short', enabled: true }],
      [UsersAccountCreate.subject, { name: '' }],
      [UsersAccountCreate.subject, { account_id: 1.5, name: 'x' }],
    ];
    for (const [subject, payload] of cases) {
      const answer = await rawError(subject, payload);
      expect({ subject, payload, answer: { code: answer.code, hasMessage: typeof answer.message === 'string' && answer.message.length > 0 } }).toEqual({
        subject,
        payload,
        answer: { code: 'BAD_REQUEST', hasMessage: true },
      });
    }
    // A verify with a well-formed but unknown key is an answer, not an error.
    expect(await rpc.send(UsersApiKeyVerify.contract, { api_key: 'foo', hash: 'bar' })).toEqual({ ok: false, reason: 'unknown_key' });
  });

  it('runs the number verbs over NATS and publishes each routing state to USERS_EVENTS', async () => {
    await rpc.send(UsersApiKeyCreate.contract, { account_id: 6101, access: 'RW', create_account: true });
    await rpc.send(UsersApiKeyCreate.contract, { account_id: 6102, access: 'RW', create_account: true });
    const a1 = await rpc.send(UsersUserCreate.contract, { account_id: 6101, password: 'Str0ngPass', num: '501', mail: 'a1@example.com' });
    const a2 = await rpc.send(UsersUserCreate.contract, { account_id: 6101, password: 'Str0ngPass', num: '502', mail: 'a2@example.com' });
    const b1 = await rpc.send(UsersUserCreate.contract, { account_id: 6102, password: 'Str0ngPass', num: '503', mail: 'b1@example.com' });

    // A leading + is accepted and dropped; the number is stored and sent as digits.
    const assigned = await rpc.send(UsersNumberAssign.contract, { number: ' +74951234567 ', account_id: 6101, user: a1 });
    expect(assigned).toEqual({ number: '74951234567', account_id: 6101, user: a1, num: '501', assigned_at: expect.any(String), updated_at: expect.any(String) });
    await expect(rpc.send(UsersNumberAssign.contract, { number: '74951234567', account_id: 6101, user: a2 })).rejects.toEqual(
      DomainError.badRequest('number 74951234567 is already assigned'),
    );
    await expect(rpc.send(UsersNumberAssign.contract, { number: '74951234568', account_id: 6101, user: b1 })).rejects.toEqual(
      DomainError.badRequest(`user ${b1} not found in account 6101`),
    );
    expect(await rpc.send(UsersNumberList.contract, { account_id: 6101 })).toEqual([assigned]);
    // Pages of the same list, keyed by account then number (the gateway reads a whole list so).
    const second = await rpc.send(UsersNumberAssign.contract, { number: '74951234569', account_id: 6101, user: a2 });
    const first = await rpc.send(UsersNumberListPage.contract, { account_id: 6101, page: { limit: 1 } });
    expect(first).toEqual({ items: [assigned], next_cursor: expect.any(String) });
    expect(await rpc.send(UsersNumberListPage.contract, { account_id: 6101, page: { limit: 1, cursor: first.next_cursor! } })).toEqual({ items: [second], next_cursor: null });
    await expect(rpc.send(UsersNumberListPage.contract, { account_id: 6999, page: { limit: 1 } })).rejects.toEqual(DomainError.notFound('account 6999 not found'));
    expect(await rpc.send(UsersNumberRelease.contract, { number: '74951234569' })).toBeNull();

    expect(await rpc.send(UsersNumberReassign.contract, { number: '74951234567', user: a2 })).toMatchObject({ user: a2, num: '502', account_id: 6101 });
    expect(await rpc.send(UsersUserUpdateExtension.contract, { account_id: 6101, user: a2, num: '512' })).toBeNull();
    expect(await rpc.send(UsersNumberReassign.contract, { number: '+74951234567', user: b1, account_id: 6102 })).toMatchObject({ user: b1, account_id: 6102 });
    expect(await rpc.send(UsersNumberList.contract, { account_id: 6101 })).toEqual([]);
    expect((await rpc.send(UsersNumberList.contract, {})).map((n) => n.number)).toContain('74951234567');
    expect(await rpc.send(UsersNumberRelease.contract, { number: '74951234567' })).toBeNull();
    await expect(rpc.send(UsersNumberRelease.contract, { number: '74951234567' })).rejects.toEqual(DomainError.notFound('number 74951234567 is not assigned'));
    await expect(rpc.send(UsersNumberReassign.contract, { number: '74951234567', user: a1 })).rejects.toEqual(DomainError.notFound('number 74951234567 is not assigned'));
    await expect(rpc.send(UsersNumberList.contract, { account_id: 6999 })).rejects.toEqual(DomainError.notFound('account 6999 not found'));

    const events = await eventually(async () => {
      const mine = (await env.numberEvents()).filter((m) => m.event.number === '74951234567');
      return mine.length === 5 && mine;
    });
    expect(events.map((m) => [m.subject, m.event.version, m.event.account_id, m.event.user, m.event.num])).toEqual([
      ['users.number.assigned', 1, 6101, a1, '501'],
      ['users.number.assigned', 2, 6101, a2, '502'],
      ['users.number.assigned', 3, 6101, a2, '512'],
      ['users.number.assigned', 4, 6102, b1, '503'],
      ['users.number.released', 5, null, null, null],
    ]);
    for (const m of events) expect(m.msgId).toBe(m.event.event_id);
  });

  it('refuses malformed number commands with BAD_REQUEST and a clear message', async () => {
    const cases: Array<[string, unknown, string | RegExp]> = [
      [UsersNumberAssign.subject, { number: '123', account_id: 6101, user: '1679728441' }, /number must be an E\.164 phone number/],
      [UsersNumberAssign.subject, { number: '0495123456', account_id: 6101, user: '1679728441' }, /E\.164/],
      [UsersNumberAssign.subject, { number: '+7 495 123', account_id: 6101, user: '1679728441' }, /E\.164/],
      [UsersNumberAssign.subject, { number: '1234567890123456', account_id: 6101, user: '1679728441' }, /E\.164/],
      [UsersNumberAssign.subject, { number: 74951234567, account_id: 6101, user: '1679728441' }, /number/],
      [UsersNumberAssign.subject, { number: '74951234567', user: '1679728441' }, 'account_id is required'],
      [UsersNumberAssign.subject, { number: '74951234567', account_id: 6101, user: 'abc' }, 'user must be a numeric user name'],
      [UsersNumberAssign.subject, { number: '74951234567', account_id: 6101 }, 'user is required'],
      [UsersNumberReassign.subject, { number: '74951234567', account_id: 0, user: '1679728441' }, /expected number to be >0/],
      [UsersNumberReassign.subject, { number: '74951234567' }, 'user is required'],
      [UsersNumberRelease.subject, {}, 'number is required'],
      [UsersNumberRelease.subject, { number: '74951\r\n234567' }, /E\.164/],
      [UsersNumberRelease.subject, null, /.+/],
      [UsersNumberList.subject, { account_id: 'x' }, /expected number/],
    ];
    for (const [subject, payload, message] of cases) {
      const answer = await rawError(subject, payload);
      expect({ subject, payload, code: answer.code }).toEqual({ subject, payload, code: 'BAD_REQUEST' });
      if (typeof message === 'string') expect(answer.message).toBe(message);
      else expect(answer.message).toMatch(message);
    }
  });

  it('publishes the provisioning event of a user created over NATS', async () => {
    const user = await rpc.send(UsersUserCreate.contract, { account_id: 6001, password: 'Str0ngPass', num: '480', mail: 'ev@example.com' });
    const message = await eventually(async () => (await env.streamEvents()).find((m) => m.event.user === user));
    expect(message).toMatchObject({ subject: 'users.user.created', event: { user, num: '480', account_id: 6001, version: 1 } });
  });
});

describe('users-service with its database down', () => {
  let nats: TestNats;
  let app: INestMicroservice;
  let rpc: RpcClient;

  beforeAll(async () => {
    nats = await startNatsServer();
    const config = { ...baseConfig(nats.url), databaseUrl: 'postgresql://postgres@127.0.0.1:1/ringcloud?schema=users' };
    app = await createNatsMicroservice(AppModule.forRoot(config), { servers: nats.url, queue: 'users-service', logger: false });
    await app.listen();
    rpc = new RpcClient({ servers: nats.url, requestTimeoutMs: 5000, name: 'test-gateway' });
    await rpc.connect();
  });
  afterAll(async () => {
    await rpc?.onApplicationShutdown();
    await app?.close();
    await nats?.stop();
  });

  it('answers UNAVAILABLE, not INTERNAL, to pings and commands', async () => {
    const unavailable = { code: 'UNAVAILABLE', message: 'users database is unavailable' };
    await expect(rpc.send(UsersHealthPing.contract, {})).rejects.toMatchObject(unavailable);
    await expect(rpc.send(UsersUserList.contract, { account_id: 1001, include_password: false })).rejects.toMatchObject(unavailable);
    await expect(rpc.send(UsersApiKeyVerify.contract, { api_key: '1001_abcdefghijklmnopqrstuvwx', hash: 'a'.repeat(32) })).rejects.toMatchObject(unavailable);
    await expect(rpc.send(UsersUserCreate.contract, { account_id: 1001, password: 'Str0ngPass', num: '401', mail: 'a@example.com' })).rejects.toMatchObject(unavailable);
    await expect(rpc.send(UsersNumberList.contract, {})).rejects.toMatchObject(unavailable);
    await expect(rpc.send(UsersNumberAssign.contract, { number: '74951234567', account_id: 1001, user: '1679728441' })).rejects.toMatchObject(unavailable);
    await expect(rpc.send(UsersNumberRelease.contract, { number: '74951234567' })).rejects.toMatchObject(unavailable);
  });
});
