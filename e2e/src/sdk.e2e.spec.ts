import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { CrmEvent as StreamEvent } from '@ringcloud/contracts-events';
import {
  BadRequestError,
  CompletedCall,
  ForbiddenError,
  NotFoundError,
  OPERATIONS,
  RateLimitError,
  RingCloud,
  RingCloudNetworkError,
  WebhookVerificationError,
  WebhookVerifier,
} from '@ringcloud/sdk';
import { WORKSPACE_ROOT, eventually } from '@ringcloud/testing';
import { newAccountId, useCrmEventFeed, useStack } from './support';

// @ringcloud/sdk against the real processes (gateway, users, calls, telephony adapter, PBX simulator,
// webhooks-service). Rate limits are the real ones: the SDK waits out every 429 by itself.
const run = promisify(execFile);
// RECORDINGS_KEEP_LOCAL: the downloaded recording is compared with the simulator's file.
const world = useStack({ telephony: true, webhooks: true, env: { WEBHOOKS_POLL_MS: '100', WEBHOOKS_RETRY_SCHEDULE_MS: '300,600', RECORDINGS_KEEP_LOCAL: 'true' } });

/** Tests of extension routes run once the served document (hence the generated table) has them. */
const whenServed = (...ids: string[]) => (ids.every((id) => Object.hasOwn(OPERATIONS, id)) ? it : it.skip);

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
    const paged: CompletedCall[] = [];
    for await (const c of client.calls.iterateCompleted({ days: 1, limit: 1 })) paged.push(c);
    expect(paged.map((c) => c.rec_file)).toContain(call.rec_file);
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

  describe('events extension', () => {
    const feed = useCrmEventFeed(world, 'sdk-e2e');
    const { receiver } = feed;
    let seq = 0;

    /** Events of the given types as the producers publish them to CRM_EVENTS (the producers' contract). */
    function publish(account: number, ...types: StreamEvent['type'][]): Promise<StreamEvent[]> {
      return feed.publish(
        ...types.map((type) =>
          feed.event(account, type, type.startsWith('user.') ? { account_id: account, user: '1679728441' } : { call_id: `c${++seq}`, sequence: 0 }),
        ),
      );
    }

    const delivered = (path: string, eventId: string, count = 1) =>
      eventually(() => {
        const got = receiver.at(path).filter((r) => r.headers['webhook-id'] === eventId);
        return got.length >= count && got;
      }, 20_000, `delivery of ${eventId} to ${path}`);

    whenServed('webhooks.create', 'webhooks.rotate_secret', 'webhooks.deliveries.retry')(
      'webhooks: deliveries verify with the SDK verifier, through a secret rotation and a retry; CRUD and typed errors',
      async () => {
        const account = newAccountId();
        const rc = await sdk(account);
        const hook = await rc.webhooks.create({ url: receiver.url('/sdk'), events: ['*'], description: 'sdk e2e' });
        expect(hook).toMatchObject({ url: receiver.url('/sdk'), events: ['*'], enabled: true, secret: expect.stringMatching(/^whsec_/) });

        const [first] = await publish(account, 'user.created');
        const [got] = await delivered('/sdk', first.id);
        const verified = new WebhookVerifier(hook.secret).verify(got.body, got.headers);
        expect(verified).toMatchObject({ id: first.id, payload: first });
        const stranger = new WebhookVerifier(`whsec_${Buffer.alloc(24, 7).toString('base64')}`);
        expect(() => stranger.verify(got.body, got.headers)).toThrow(WebhookVerificationError);
        expect(() => new WebhookVerifier(hook.secret).verify(got.body.replace('user.created', 'user.deleted'), got.headers)).toThrow(WebhookVerificationError);

        // After a rotation both secrets sign (two v1 signatures): receivers on either secret accept.
        const rotated = await rc.webhooks.rotateSecret(hook.id);
        expect(rotated.secret).not.toBe(hook.secret);
        const [second] = await publish(account, 'call.ringing');
        const [got2] = await delivered('/sdk', second.id);
        expect(String(got2.headers['webhook-signature']).split(' ')).toHaveLength(2);
        for (const secret of [hook.secret, rotated.secret]) expect(new WebhookVerifier(secret).verify(got2.body, got2.headers).id).toBe(second.id);

        const deliveries = await eventually(async () => {
          const list = await rc.webhooks.deliveries(hook.id);
          return list.length === 2 && list.every((d) => d.status === 'delivered') && list;
        }, 20_000, 'both deliveries recorded');
        expect(deliveries.map((d) => d.event_id)).toEqual([second.id, first.id]);
        expect(await rc.webhooks.deliveries(hook.id, { limit: 1 })).toHaveLength(1);
        await rc.webhooks.retryDelivery(hook.id, deliveries[1].id);
        const again = await delivered('/sdk', first.id, 2);
        expect(new WebhookVerifier(rotated.secret).verify(again[1].body, again[1].headers).payload).toEqual(first);

        expect((await rc.webhooks.list()).map((w) => w.id)).toEqual([hook.id]);
        expect(await rc.webhooks.update(hook.id, { enabled: false, description: 'paused' })).toMatchObject({ enabled: false, description: 'paused' });
        expect(await rc.webhooks.get(hook.id)).toMatchObject({ enabled: false });
        const refused = await caught(rc.webhooks.create({ url: 'ftp://example.com/x', events: ['*'] }));
        expect(refused).toBeInstanceOf(BadRequestError);
        await rc.webhooks.delete(hook.id);
        expect(await caught(rc.webhooks.get(hook.id))).toMatchObject({ status: 404, apiMessage: 'Webhook not found' });
        const reader = await sdk(account, 'RO');
        expect(await caught(reader.webhooks.create({ url: receiver.url('/ro'), events: ['*'] }))).toMatchObject({ status: 403, apiMessage: 'API key is read-only' });
      },
      90_000,
    );

    whenServed('events.list')('the event feed: every event in order, from a cursor, and followed live', async () => {
      const account = newAccountId();
      const rc = await sdk(account);
      const published = await publish(account, 'user.created', 'call.started', 'call.ringing');
      const ids = published.map((e) => e.id);
      const all = await eventually(async () => {
        const seen: string[] = [];
        for await (const event of rc.events.iterate({ limit: 2 })) seen.push(event.id);
        return seen.length === 3 && seen;
      }, 20_000, 'the feed');
      expect(all).toEqual(ids);
      const page = await rc.events.list({ limit: 2 });
      expect([page.items.map((e) => e.id), page.nextCursor]).toEqual([ids.slice(0, 2), ids[1]]);
      const afterFirst: string[] = [];
      for await (const event of rc.events.iterate({ after: ids[0] })) afterFirst.push(event.id);
      expect(afterFirst).toEqual(ids.slice(1));
      expect(await caught(rc.events.list({ after: 'evt_unknown' }))).toBeInstanceOf(BadRequestError);

      // follow: waits for the next event, then the caller stops it
      const controller = new AbortController();
      const followed: string[] = [];
      const following = (async () => {
        for await (const event of rc.events.iterate({ after: ids[2], follow: true, pollIntervalMs: 300 }, { signal: controller.signal })) {
          followed.push(event.id);
          controller.abort(new Error('enough'));
        }
      })().catch((err) => err);
      await new Promise((r) => setTimeout(r, 500));
      const [late] = await publish(account, 'user.updated');
      expect(await following).toEqual(new Error('enough'));
      expect(followed).toEqual([late.id]);
    }, 90_000);

    whenServed('users.delete')('deletes a user: it is gone for the API, a second delete is a 404', async () => {
      const account = newAccountId();
      const { user } = await newUser(account);
      const rc = await sdk(account);
      await rc.users.delete(user);
      expect(await caught(rc.users.get(user))).toBeInstanceOf(NotFoundError);
      expect(await caught(rc.users.delete(user))).toMatchObject({ status: 404 });
    });

    whenServed('calls.get')('follows an originated call by its X-Call-Id, with its external_id', async () => {
      const account = newAccountId();
      const { user, num } = await newUser(account);
      const rc = await sdk(account);
      let placed;
      for (const deadline = Date.now() + 30_000; !placed; ) {
        placed = await rc.calls.originate({ user, num: '79101234567', external_id: 'crm-42' }).catch(async (err) => {
          if (!(err instanceof BadRequestError && /registered/.test(err.apiMessage)) || Date.now() > deadline) throw err;
          await new Promise((r) => setTimeout(r, 500));
        });
      }
      expect(placed.callId).toEqual(expect.any(String));
      const done = await eventually(async () => {
        const call = await rc.calls.get(placed.callId!);
        return call.state === 'completed' && call;
      }, 45_000, 'the call completed');
      expect(done).toMatchObject({ call_id: placed.callId, external_id: 'crm-42', direction: 'outgoing', dst: '79101234567', disposition: 'ANSWERED' });
      const listed = await completedCall(rc, (c) => c.call_id === placed.callId);
      expect(listed).toMatchObject({ src: num, external_id: 'crm-42' });
      const stranger = await sdk(newAccountId());
      expect(await caught(stranger.calls.get(placed.callId!))).toBeInstanceOf(NotFoundError);
    }, 120_000);

    const idempotent = ((OPERATIONS['calls.originate'] as { headers?: readonly string[] }).headers ?? []).includes('Idempotency-Key');
    (idempotent ? it : it.skip)('originate with the same Idempotency-Key twice: the first answer replayed, one call', async () => {
      const account = newAccountId();
      const { user, num } = await newUser(account);
      const rc = await sdk(account);
      const key = `sdk-e2e-${process.pid}-${Date.now()}`;
      let placed;
      for (const deadline = Date.now() + 30_000; !placed; ) {
        // a refused originate (phone not registered yet) is not kept: the same key may try again
        placed = await rc.calls.originate({ user, num: '79101234568' }, { idempotencyKey: key }).catch(async (err) => {
          if (!(err instanceof BadRequestError && /registered/.test(err.apiMessage)) || Date.now() > deadline) throw err;
          await new Promise((r) => setTimeout(r, 500));
        });
      }
      expect(placed).toMatchObject({ idempotencyKey: key, replayed: false });
      // within the 1-per-5-s limit: a replay is not rate limited
      const replay = await rc.calls.originate({ user, num: '79101234568' }, { idempotencyKey: key, retry: false });
      expect(replay).toMatchObject({ idempotencyKey: key, replayed: true, callId: placed.callId });
      expect(await caught(rc.calls.originate({ user, num: '79101234569' }, { idempotencyKey: key, retry: false }))).toBeInstanceOf(BadRequestError);
      await completedCall(rc, (c) => c.src === num);
      await new Promise((r) => setTimeout(r, 3000));
      expect((await rc.calls.completed({ days: 1, num })).filter((c) => c.dst === '79101234568')).toHaveLength(1);
    }, 120_000);
  });
});
