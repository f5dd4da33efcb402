import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  BadRequestError,
  CompletedCall,
  ForbiddenError,
  NotFoundError,
  RateLimitError,
  RingCloud,
  RingCloudNetworkError,
} from '@ringcloud/sdk';
import { WORKSPACE_ROOT } from '@ringcloud/testing';
import { newAccountId, useStack } from './support';

// @ringcloud/sdk against the real processes (gateway, users, calls, telephony adapter, PBX simulator).
const run = promisify(execFile);
const world = useStack({ telephony: true });

/** A client with a fresh key (v1 limits are per key and URL: a key per scenario keeps them apart). */
async function sdk(account: number, access: 'RO' | 'RW' = 'RW', extra: Partial<ConstructorParameters<typeof RingCloud>[0]> = {}) {
  const { api_key, password } = await world.admin.createKey(account, access);
  return new RingCloud({ baseUrl: world.stack.gateways[0], apiKey: api_key, password, ...extra });
}

const caught = (p: Promise<unknown>) => p.then(() => new Error('expected a rejection'), (e) => e);

let extension = 500;
/** A new user, created through the SDK with a key of its own (create is 1 per 60 s per key). */
async function newUser(account: number) {
  const num = String(++extension);
  const user = await (await sdk(account)).users.create({ password: 'Sip5ecret1', num, mail: `u${num}@example.com` });
  return { user, num };
}

/** Originates once the user's freshly provisioned phone has registered (the SDK waits out the 1-per-5-s limit). */
async function originate(client: RingCloud, user: string, num: string, deadline = Date.now() + 30_000) {
  for (;;) {
    try {
      return await client.calls.originate({ user, num });
    } catch (err) {
      if (!(err instanceof BadRequestError && /registered/.test(err.apiMessage)) || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

async function completedCall(client: RingCloud, predicate: (c: CompletedCall) => boolean, timeoutMs = 45_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // the second poll of the same URL within 5 s is a 429: the SDK waits Retry-After by itself
    const found = (await client.calls.completed({ days: 1 })).find(predicate);
    if (found) return found;
    if (Date.now() > deadline) throw new Error('no completed call in time');
    await new Promise((r) => setTimeout(r, 1000));
  }
}

describe('@ringcloud/sdk on the real stack', () => {
  it('the served OpenAPI document generates exactly the checked-in operation table', async () => {
    await run(process.execPath, ['-r', './tools/register.cjs', 'tools/sdk-codegen/generate.ts', '--check', '--from', `${world.stack.gateways[0]}/docs/openapi.json`], {
      cwd: WORKSPACE_ROOT,
    }).catch((err) => {
      throw new Error(`${err.stdout}${err.stderr}`);
    });
  });

  it('manages users and surfaces v1 errors as typed errors with the server message', async () => {
    const account = newAccountId();
    const rw = await sdk(account);
    const ro = await sdk(account, 'RO');
    const { user, num } = await newUser(account);
    expect(user).toMatch(/^[1-9][0-9]{5,14}$/);

    expect(await rw.users.get(user)).toEqual({ account_id: account, user, num, mail: `u${num}@example.com`, voice_mail_box: 'off', password: 'Sip5ecret1' });
    expect((await ro.users.get(user)).password).toBeNull();
    await rw.users.updatePassword(user, 'N3wSecret9');
    await rw.users.updateExtension(user, '599');
    await rw.users.updateEmail(user, 'new@example.com');
    await rw.users.setVoicemail(user, true);
    // the same URL within 1 s is rate limited: the client waits Retry-After and gets the answer
    expect(await rw.users.get(user)).toMatchObject({ num: '599', mail: 'new@example.com', voice_mail_box: 'on', password: 'N3wSecret9' });

    const second = await newUser(account);
    const listed: string[] = [];
    for await (const u of rw.users.iterate({ limit: 1 })) listed.push(u.user);
    expect(listed.sort()).toEqual([user, second.user].sort());

    const bad = await caught(rw.users.updateEmail(user, 'not-an-email'));
    expect(bad).toBeInstanceOf(BadRequestError);
    expect(bad).toMatchObject({ status: 400, apiMessage: expect.stringMatching(/mail/i) });
    expect(await caught(rw.users.get('1000000001'))).toMatchObject({ status: 404, apiMessage: 'User not found' });
    expect(await caught(ro.users.updateEmail(user, 'a@b.cd'))).toMatchObject({ status: 403, apiMessage: 'API key is read-only' });
    const wrong = new RingCloud({ baseUrl: world.stack.gateways[0], apiKey: rw.transport.url('/').searchParams.get('api_key')!, password: 'wrong' });
    const denied = await caught(wrong.users.list());
    expect(denied).toBeInstanceOf(ForbiddenError);
    expect(denied.apiMessage).toBe('Invalid hash');
    expect(denied.message).not.toContain(rw.transport.url('/').searchParams.get('hash')!);
  });

  it('429: a single attempt throws RateLimitError with Retry-After; the default policy waits and succeeds', async () => {
    const account = newAccountId();
    const { user } = await newUser(account);
    const client = await sdk(account);
    await client.recordings.list(user); // 1 per 5 s
    const limited = await caught(client.recordings.list(user, { retry: false }));
    expect(limited).toBeInstanceOf(RateLimitError);
    expect(limited.retryAfter).toBeGreaterThanOrEqual(1);
    expect(limited.retryAfter).toBeLessThanOrEqual(5);
    const started = Date.now();
    expect(await client.recordings.list(user)).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
  });

  it('originates a call, finds it completed and downloads its recording byte for byte', async () => {
    const account = newAccountId();
    const { user, num } = await newUser(account);
    const client = await sdk(account);
    const placed = await originate(client, user, '79101234567');
    expect(placed).toMatchObject({ message: 'Originate successfully queued', idempotencyKey: expect.any(String) });

    const call = await completedCall(client, (c) => c.src === num && !!c.rec_file);
    expect(call).toMatchObject({ status: 'complete', direction: 'outgoing', dst: '79101234567', disposition: 'ANSWERED' });
    if (placed.callId && call.call_id) expect(call.call_id).toBe(placed.callId);

    const file = await client.recordings.download(call.rec_file!);
    expect(file.contentType).toMatch(/audio\/(x-)?wav/);
    const name = call.rec_file!.split('/').pop()!;
    expect(file.fileName).toContain(name);
    const original = readdirSync(world.stack.recordingsDir!).find((f) => f === name || name.endsWith(f));
    expect(Buffer.from(file.data).equals(readFileSync(path.join(world.stack.recordingsDir!, original!)))).toBe(true);
    const [[listedName]] = await client.recordings.list(user);
    expect(listedName).toBe(name);
    expect(await caught(client.recordings.download({ user, file: 'missing.wav' }))).toBeInstanceOf(NotFoundError);
    expect(Array.isArray(await client.calls.channels())).toBe(true);
  });

  it('a gateway that is gone is a network error, not a hang', async () => {
    const gone = new RingCloud({ baseUrl: 'http://127.0.0.1:9', apiKey: '1_x', password: 'p', retry: { maxAttempts: 1 } });
    expect(await caught(gone.users.list())).toBeInstanceOf(RingCloudNetworkError);
  });

  describe('the README quick start, with the packed SDK installed in an empty folder', () => {
    let dir: string;
    afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

    it('places a call and saves its recording', async () => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'rc-sdk-quickstart-'));
      const sdkRoot = path.join(WORKSPACE_ROOT, 'libs/sdk');
      const npmEnv = { ...process.env, npm_config_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
      await run('npm', ['pack', '--pack-destination', dir], { cwd: sdkRoot, env: npmEnv });
      const tarball = path.join(dir, readdirSync(dir).find((f) => f.endsWith('.tgz'))!);
      const app = path.join(dir, 'app');
      mkdirSync(app);
      writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'crm', version: '1.0.0', private: true }));
      await run('npm', ['install', '--offline', '--ignore-scripts', tarball], { cwd: app, env: npmEnv });

      const readme = readFileSync(path.join(sdkRoot, 'README.md'), 'utf8');
      const code = /```js quickstart\n([\s\S]*?)```/.exec(readme)?.[1];
      expect(code).toBeDefined();
      expect(code!.trim().split('\n').length).toBeLessThanOrEqual(12);
      writeFileSync(path.join(app, 'quickstart.mjs'), code!);

      const account = newAccountId();
      const { api_key, password } = await world.admin.createKey(account, 'RW');
      const { stdout } = await run(process.execPath, ['quickstart.mjs'], {
        cwd: app,
        env: { ...process.env, RC_URL: world.stack.gateways[0], RC_KEY: api_key, RC_PASSWORD: password },
        timeout: 90_000,
      });
      expect(stdout).toMatch(/ANSWERED, \d+ s, recording saved to call\.wav/);
      expect(existsSync(path.join(app, 'call.wav'))).toBe(true);
      expect(readFileSync(path.join(app, 'call.wav')).subarray(0, 4).toString()).toBe('RIFF');
    }, 150_000);
  });
});
