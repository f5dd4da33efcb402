import { INestMicroservice } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DomainError } from '@ringcloud/contracts-common';
import {
  UsersAccountCreate,
  UsersAccountList,
  UsersApiKeyChanged,
  UsersApiKeyCreate,
  UsersApiKeyDelete,
  UsersApiKeyList,
  UsersApiKeyRegenerate,
  UsersApiKeySetEnabled,
  UsersApiKeyVerify,
  UsersHealthPing,
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
import { TestNats, startNatsServer } from '@ringcloud/testing';
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
  });
});
