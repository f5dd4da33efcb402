import { createHash, randomBytes } from 'node:crypto';
import { Controller, Inject, INestMicroservice, Logger, Module } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { DomainError, pageOf } from '@ringcloud/contracts-common';
import {
  Account,
  ApiKeyInfo,
  NumberInfo,
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
  UsersUserDelete,
  UsersUserGet,
  UsersUserList,
  UsersUserListPage,
  UsersUserSetVoicemail,
  UsersUserUpdateEmail,
  UsersUserUpdateExtension,
  UsersUserUpdatePassword,
  V1User,
} from '@ringcloud/contracts-users';
import { Command, connectNats, createNatsMicroservice, NatsConnection } from '@ringcloud/nest-nats';

/**
 * A tiny stand-in for users-service on real NATS, speaking the real contracts (requests are
 * validated by the same @Command pipe). State is in memory; every request is counted by subject
 * so tests can tell whether the gateway asked at all. The real users-service is exercised by the
 * e2e suite.
 */
interface KeyRecord {
  account_id: number;
  access: 'RO' | 'RW';
  enabled: boolean;
  password: string;
  created_at: string;
  password_changed_at: string;
}

export const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');

export class FakeUsers {
  readonly accounts = new Map<number, Account>();
  readonly keys = new Map<string, KeyRecord>();
  readonly users = new Map<string, Omit<V1User, 'password'> & { password: string }>();
  /** Inbound numbers: released ones keep their entry (account/user null), as the real service keeps its row. */
  readonly numbers = new Map<string, { account_id: number | null; user: string | null; assigned_at: string; updated_at: string }>();
  readonly calls = new Map<string, number>();
  /** Subject → milliseconds every such command takes (a slow service, for concurrency tests). */
  readonly delays = new Map<string, number>();
  /** Subject → error to answer once, to test the gateway's error mapping. */
  readonly failNext = new Map<string, DomainError>();
  /** The request_id of every create command, in order (undefined: sent without one). */
  readonly createRequestIds: Array<string | undefined> = [];
  private nextUser = 1679728441;
  publish: (subject: string, payload: unknown) => Promise<void> = async () => undefined;

  count(subject: string): number {
    return this.calls.get(subject) ?? 0;
  }

  hit(subject: string): void {
    this.calls.set(subject, this.count(subject) + 1);
    const error = this.failNext.get(subject);
    if (error) {
      this.failNext.delete(subject);
      throw error;
    }
  }

  addAccount(account_id: number, name = `Account ${account_id}`): Account {
    const account = { account_id, name, created_at: new Date().toISOString() };
    this.accounts.set(account_id, account);
    return account;
  }

  /** A key with its ready-made query string (`api_key=…&hash=…`). */
  addKey(account_id: number, access: 'RO' | 'RW', enabled = true) {
    if (!this.accounts.has(account_id)) this.addAccount(account_id);
    const api_key = `${account_id}_${randomBytes(8).toString('hex')}`;
    const password = randomBytes(12).toString('hex');
    const now = new Date().toISOString();
    this.keys.set(api_key, { account_id, access, enabled, password, created_at: now, password_changed_at: now });
    return { api_key, password, access, auth: `api_key=${api_key}&hash=${md5(api_key + password)}` };
  }

  addUser(account_id: number, num: string, mail = `u${num}@example.com`): string {
    const user = String(this.nextUser++);
    this.users.set(user, { account_id, user, num, mail, voice_mail_box: 'off', password: 'Secret123' });
    return user;
  }

  keyInfo(api_key: string): ApiKeyInfo {
    const k = this.keys.get(api_key);
    if (!k) throw DomainError.notFound('API key not found');
    return {
      api_key,
      account_id: k.account_id,
      access: k.access,
      enabled: k.enabled,
      created_at: k.created_at,
      password_changed_at: k.password_changed_at,
    };
  }

  userOf(account_id: number, user: string) {
    const found = this.users.get(user);
    if (!found || found.account_id !== account_id) throw DomainError.notFound('User not found');
    return found;
  }

  numberInfo(number: string): NumberInfo {
    const n = this.numbers.get(number);
    if (!n || n.account_id === null || n.user === null) throw DomainError.notFound(`number ${number} is not assigned`);
    return { number, account_id: n.account_id, user: n.user, num: this.users.get(n.user)!.num, assigned_at: n.assigned_at, updated_at: n.updated_at };
  }

  /** The user as a number's target: of `account_id`, else BAD_REQUEST (as the real service answers). */
  numberTarget(account_id: number, user: string): string {
    const found = this.users.get(user);
    if (!found || found.account_id !== account_id) throw DomainError.badRequest(`user ${user} not found in account ${account_id}`);
    return user;
  }

  /** Broadcast before replying (and flushed), as the real service must, so no gateway answers from a stale cache. */
  changed(api_key: string): Promise<void> {
    // The packet shape Nest's ClientProxy.emit puts on the wire.
    return this.publish(UsersApiKeyChanged.subject, { pattern: UsersApiKeyChanged.subject, data: { api_key } });
  }
}

const FAKE = Symbol('FAKE');
const view = (u: ReturnType<FakeUsers['userOf']>, withPassword: boolean): V1User => ({
  ...u,
  password: withPassword ? u.password : null,
});

@Controller()
class FakeUsersController {
  constructor(@Inject(FAKE) private readonly fake: FakeUsers) {}

  @Command(UsersApiKeyVerify.contract)
  verify(@Payload() req: UsersApiKeyVerify.Request): UsersApiKeyVerify.Response {
    this.fake.hit(UsersApiKeyVerify.subject);
    const key = this.fake.keys.get(req.api_key);
    if (!key) return { ok: false, reason: 'unknown_key' };
    if (md5(req.api_key + key.password) !== req.hash.toLowerCase()) return { ok: false, reason: 'invalid_hash' };
    if (!key.enabled) return { ok: false, reason: 'disabled' };
    return { ok: true, account_id: key.account_id, access: key.access };
  }

  @Command(UsersHealthPing.contract)
  ping() {
    this.fake.hit(UsersHealthPing.subject);
    return { status: 'ok' as const };
  }

  @Command(UsersUserList.contract)
  list(@Payload() req: UsersUserList.Request): V1User[] {
    this.fake.hit(UsersUserList.subject);
    return [...this.fake.users.values()].filter((u) => u.account_id === req.account_id).map((u) => view(u, req.include_password));
  }

  /** Pages in insertion order (the real order is users-service's business; the gateway only relays). */
  @Command(UsersUserListPage.contract)
  listPage(@Payload() req: UsersUserListPage.Request): UsersUserListPage.Response {
    this.fake.hit(UsersUserListPage.subject);
    const mine = [...this.fake.users.values()].filter((u) => u.account_id === req.account_id);
    const page = pageOf(mine, req.page, (u) => [u.user]);
    return { items: page.items.map((u) => view(u, req.include_password)), next_cursor: page.next_cursor };
  }

  @Command(UsersUserGet.contract)
  get(@Payload() req: UsersUserGet.Request): V1User {
    this.fake.hit(UsersUserGet.subject);
    return view(this.fake.userOf(req.account_id, req.user), req.include_password);
  }

  @Command(UsersUserCreate.contract)
  async create(@Payload() req: UsersUserCreate.Request): Promise<string> {
    this.fake.hit(UsersUserCreate.subject);
    this.fake.createRequestIds.push(req.request_id);
    const delay = this.fake.delays.get(UsersUserCreate.subject);
    if (delay) await new Promise((r) => setTimeout(r, delay));
    const taken = [...this.fake.users.values()].some((u) => u.account_id === req.account_id && u.num === req.num);
    if (taken) throw DomainError.badRequest(`extension ${req.num} is already used`);
    const user = this.fake.addUser(req.account_id, req.num, req.mail);
    this.fake.users.get(user)!.password = req.password;
    return user;
  }

  /** As the real service: another account's user is not found; the user's numbers are released. */
  @Command(UsersUserDelete.contract)
  deleteUser(@Payload() req: UsersUserDelete.Request): null {
    this.fake.hit(UsersUserDelete.subject);
    this.fake.userOf(req.account_id, req.user);
    for (const n of this.fake.numbers.values()) {
      if (n.user === req.user) Object.assign(n, { account_id: null, user: null, updated_at: new Date().toISOString() });
    }
    this.fake.users.delete(req.user);
    return null;
  }

  @Command(UsersUserUpdatePassword.contract)
  updatePassword(@Payload() req: UsersUserUpdatePassword.Request): null {
    this.fake.hit(UsersUserUpdatePassword.subject);
    this.fake.userOf(req.account_id, req.user).password = req.password;
    return null;
  }

  @Command(UsersUserUpdateExtension.contract)
  updateExtension(@Payload() req: UsersUserUpdateExtension.Request): null {
    this.fake.hit(UsersUserUpdateExtension.subject);
    this.fake.userOf(req.account_id, req.user).num = req.num;
    return null;
  }

  @Command(UsersUserUpdateEmail.contract)
  updateEmail(@Payload() req: UsersUserUpdateEmail.Request): null {
    this.fake.hit(UsersUserUpdateEmail.subject);
    this.fake.userOf(req.account_id, req.user).mail = req.mail;
    return null;
  }

  @Command(UsersUserSetVoicemail.contract)
  setVoicemail(@Payload() req: UsersUserSetVoicemail.Request): null {
    this.fake.hit(UsersUserSetVoicemail.subject);
    this.fake.userOf(req.account_id, req.user).voice_mail_box = req.enabled ? 'on' : 'off';
    return null;
  }

  @Command(UsersNumberList.contract)
  listNumbers(@Payload() req: UsersNumberList.Request): NumberInfo[] {
    this.fake.hit(UsersNumberList.subject);
    if (req.account_id !== undefined && !this.fake.accounts.has(req.account_id)) throw DomainError.notFound(`account ${req.account_id} not found`);
    return [...this.fake.numbers]
      .filter(([, n]) => n.account_id !== null && (req.account_id === undefined || n.account_id === req.account_id))
      .map(([number]) => this.fake.numberInfo(number))
      .sort((a, b) => a.account_id - b.account_id || a.number.localeCompare(b.number));
  }

  @Command(UsersNumberListPage.contract)
  listNumbersPage(@Payload() req: UsersNumberListPage.Request): UsersNumberListPage.Response {
    this.fake.hit(UsersNumberListPage.subject);
    return pageOf(this.listNumbers({ account_id: req.account_id }), req.page, (n) => [n.account_id, n.number]);
  }

  @Command(UsersNumberAssign.contract)
  assignNumber(@Payload() req: UsersNumberAssign.Request): NumberInfo {
    this.fake.hit(UsersNumberAssign.subject);
    const user = this.fake.numberTarget(req.account_id, req.user);
    if (this.fake.numbers.get(req.number)?.account_id) throw DomainError.badRequest(`number ${req.number} is already assigned`);
    const now = new Date().toISOString();
    this.fake.numbers.set(req.number, { account_id: req.account_id, user, assigned_at: now, updated_at: now });
    return this.fake.numberInfo(req.number);
  }

  @Command(UsersNumberReassign.contract)
  reassignNumber(@Payload() req: UsersNumberReassign.Request): NumberInfo {
    this.fake.hit(UsersNumberReassign.subject);
    const current = this.fake.numberInfo(req.number);
    const account_id = req.account_id ?? current.account_id;
    const user = this.fake.numberTarget(account_id, req.user);
    const now = new Date().toISOString();
    this.fake.numbers.set(req.number, { account_id, user, assigned_at: now, updated_at: now });
    return this.fake.numberInfo(req.number);
  }

  @Command(UsersNumberRelease.contract)
  releaseNumber(@Payload() req: UsersNumberRelease.Request): null {
    this.fake.hit(UsersNumberRelease.subject);
    this.fake.numberInfo(req.number);
    this.fake.numbers.set(req.number, { account_id: null, user: null, assigned_at: '', updated_at: new Date().toISOString() });
    return null;
  }

  @Command(UsersAccountCreate.contract)
  createAccount(@Payload() req: UsersAccountCreate.Request): Account {
    this.fake.hit(UsersAccountCreate.subject);
    const id = req.account_id ?? Math.max(1000, ...this.fake.accounts.keys()) + 1;
    if (this.fake.accounts.has(id)) throw DomainError.badRequest(`account ${id} already exists`);
    return this.fake.addAccount(id, req.name);
  }

  @Command(UsersAccountList.contract)
  listAccounts(): Account[] {
    this.fake.hit(UsersAccountList.subject);
    return [...this.fake.accounts.values()];
  }

  @Command(UsersAccountListPage.contract)
  listAccountsPage(@Payload() req: UsersAccountListPage.Request): UsersAccountListPage.Response {
    this.fake.hit(UsersAccountListPage.subject);
    return pageOf([...this.fake.accounts.values()].sort((a, b) => a.account_id - b.account_id), req.page, (a) => [a.account_id]);
  }

  @Command(UsersApiKeyCreate.contract)
  createKey(@Payload() req: UsersApiKeyCreate.Request) {
    this.fake.hit(UsersApiKeyCreate.subject);
    if (!this.fake.accounts.has(req.account_id)) throw DomainError.notFound('Account not found');
    const { api_key, password, access } = this.fake.addKey(req.account_id, req.access);
    return { api_key, password, access };
  }

  @Command(UsersApiKeyList.contract)
  listKeys(@Payload() req: UsersApiKeyList.Request): ApiKeyInfo[] {
    this.fake.hit(UsersApiKeyList.subject);
    if (!this.fake.accounts.has(req.account_id)) throw DomainError.notFound('Account not found');
    return [...this.fake.keys].filter(([, k]) => k.account_id === req.account_id).map(([key]) => this.fake.keyInfo(key));
  }

  @Command(UsersApiKeySetEnabled.contract)
  async setEnabled(@Payload() req: UsersApiKeySetEnabled.Request): Promise<ApiKeyInfo> {
    this.fake.hit(UsersApiKeySetEnabled.subject);
    this.fake.keyInfo(req.api_key);
    this.fake.keys.get(req.api_key)!.enabled = req.enabled;
    await this.fake.changed(req.api_key);
    return this.fake.keyInfo(req.api_key);
  }

  @Command(UsersApiKeyRegenerate.contract)
  async regenerate(@Payload() req: UsersApiKeyRegenerate.Request) {
    this.fake.hit(UsersApiKeyRegenerate.subject);
    const info = this.fake.keyInfo(req.api_key);
    const password = randomBytes(12).toString('hex');
    this.fake.keys.get(req.api_key)!.password = password;
    await this.fake.changed(req.api_key);
    return { api_key: req.api_key, password, access: info.access };
  }

  @Command(UsersApiKeyDelete.contract)
  async deleteKey(@Payload() req: UsersApiKeyDelete.Request): Promise<null> {
    this.fake.hit(UsersApiKeyDelete.subject);
    this.fake.keyInfo(req.api_key);
    this.fake.keys.delete(req.api_key);
    await this.fake.changed(req.api_key);
    return null;
  }
}

export interface RunningFake {
  fake: FakeUsers;
  stop(): Promise<void>;
}

export async function startFakeUsersService(natsUrl: string, fake = new FakeUsers()): Promise<RunningFake> {
  @Module({ controllers: [FakeUsersController], providers: [{ provide: FAKE, useValue: fake }] })
  class FakeUsersModule {}

  const app: INestMicroservice = await createNatsMicroservice(FakeUsersModule, {
    servers: natsUrl,
    queue: 'fake-users-service',
    logger: ['error'],
  });
  await app.listen();
  const nc: NatsConnection = await connectNats(natsUrl, 'fake-users-events');
  fake.publish = async (subject, payload) => {
    nc.publish(subject, JSON.stringify(payload));
    await nc.flush();
  };
  return {
    fake,
    stop: async () => {
      await nc.close();
      await app.close();
      Logger.flush();
    },
  };
}
