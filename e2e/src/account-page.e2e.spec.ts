import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { crmEventId, crmEventSubject } from '@ringcloud/contracts-events';
import { V1Client, WORKSPACE_ROOT, WebhookReceiver, md5, waitFor } from '@ringcloud/testing';
import { expectError, expectSuccess, newAccountId, useStack } from './support';

// The account page (/account) in a real browser — Debian's Chromium, headless, driven by
// playwright-core — against the real stack with the calls half (a recorded call to play) and the
// webhooks service (a receiver on this machine; automatic retries 10 min away, so the page's Retry
// is what sends a failed delivery again). Screenshots of each page go to tmp/account-page/
// (git-ignored). Every wait is on a condition.
const world = useStack({ telephony: true, webhooks: true, env: { KEY_USAGE_FLUSH_MS: '200', WEBHOOKS_RETRY_SCHEDULE_MS: '600000' } });

// Browser globals, used only inside page.evaluate callbacks (this project has no DOM typings).
declare const document: any, navigator: any, localStorage: any, sessionStorage: any, getComputedStyle: any;

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = path.join(WORKSPACE_ROOT, 'tmp', 'account-page');
const WAIT_MS = 45_000;

describe('the account page in a browser', () => {
  let accountId: number;
  let owner: V1Client;
  let user: string;
  let base: string;
  let context: BrowserContext;
  let page: Page;
  let profileDir: string;
  const problems: string[] = [];

  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  const status = () => page.locator('#status');
  const alert = () => page.locator('#alert');
  const keyRow = (apiKey: string) => page.locator(`#keys-table tr[data-key="${apiKey}"]`);
  const clipboard = () => page.evaluate(() => navigator.clipboard.readText());

  /** The password box shows a new secret: copy both fields through the page's buttons, read the clipboard. */
  async function copySecret(): Promise<{ api_key: string; password: string }> {
    await page.locator('#secret-box').waitFor({ state: 'visible' });
    await page.getByRole('button', { name: 'Copy API key' }).click();
    await waitFor('API key copied', async () => (/API key copied/.test((await status().textContent()) ?? '') ? true : undefined), WAIT_MS);
    const api_key = await clipboard();
    await page.getByRole('button', { name: 'Copy password' }).click();
    await waitFor('password copied', async () => (/Password copied/.test((await status().textContent()) ?? '') ? true : undefined), WAIT_MS);
    const password = await clipboard();
    expect(api_key).toBe(await page.locator('#secret-key').textContent());
    expect(password).toBe(await page.locator('#secret-password').textContent());
    return { api_key, password };
  }

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    base = world.stack.gateways[0];
    accountId = newAccountId();
    owner = await world.client(accountId, 'RW');
    user = expectSuccess(await owner.post('/v1/users/create', { password: 'Sip5ecret!', num: '401', mail: 'anna@example.com' }));

    // A recorded call: wait until the simulated phone is registered, originate, wait for the recording.
    let poll = 0;
    await waitFor('the phone registers', async () => {
      const res = await owner.get('/v1/users/registrations', { poll: String(++poll) });
      return res.status === 200 && res.body.data.some((r: any) => r.user === user && r.registered) ? true : undefined;
    }, 60_000);
    // On a loaded machine the originate may answer 503 (a backend too slow): try again on another
    // URL (the limit is per URL); a second call would do no harm, one recording is all it takes.
    let attempt = 0;
    await waitFor('the originate', async () => {
      const res = await owner.post(`/v1/calls?attempt=${++attempt}`, { user, num: '79101234567' });
      if (res.status === 503) return undefined;
      expectSuccess(res);
      return true;
    }, 60_000);
    await waitFor('the recorded call', async () => {
      const res = await owner.get('/v1/calls/complete', { days: '1', poll: String(++poll) });
      return res.status === 200 && res.body.data.some((c: any) => c.rec_file) ? true : undefined;
    }, 60_000);

    profileDir = mkdtempSync(path.join(os.tmpdir(), 'rc-chromium-'));
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      baseURL: base,
      permissions: ['clipboard-read', 'clipboard-write'],
      viewport: { width: 1280, height: 900 },
    });
    context.setDefaultTimeout(WAIT_MS);
    page = context.pages()[0] ?? (await context.newPage());
    page.on('dialog', (dialog) => void dialog.accept());
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      // Refused API calls log "Failed to load resource" (expected here); anything else, CSP above all, is a problem.
      if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text())) problems.push(`console: ${msg.text()}`);
    });
  }, 240_000);

  afterAll(async () => {
    await context?.close();
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  });

  it('is served with a strict CSP, no framing, and its md5 is the v1 hash', async () => {
    const res = await page.goto('/account');
    expect(res?.status()).toBe(200);
    const headers = res!.headers();
    expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(headers['content-security-policy']).toContain("script-src 'self'");
    expect(headers['content-security-policy']).not.toContain('unsafe-inline');
    expect(headers['x-frame-options']).toBe('DENY');
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['referrer-policy']).toBe('no-referrer');
    for (const asset of ['app.js', 'md5.js', 'style.css']) expect((await fetch(`${base}/account/${asset}`)).status).toBe(200);
    expect((await fetch(`${base}/account/../package.json`)).status).toBe(404);
    expect((await fetch(`${base}/account/nothing.js`)).status).toBe(404);

    const sample = '1001_a1b2c3s3cret-пароль';
    // A string, not a function: the test's compiler would turn import() into require().
    expect(await page.evaluate(`import('/account/md5.js').then((m) => m.md5(${JSON.stringify(sample)}))`)).toBe(md5(sample));
    await shot('01-sign-in');
  }, 120_000);

  it('refuses a read-only key, then signs in with the RW key by keyboard alone, storing nothing', async () => {
    const ro = await world.admin.createKey(accountId, 'RO');
    await page.getByLabel('API key', { exact: true }).fill(ro.api_key);
    await page.getByLabel('Password', { exact: true }).fill(ro.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await waitFor('RO refused', async () => (/read-only \(RO\) key/.test((await alert().textContent()) ?? '') ? true : undefined), WAIT_MS);

    // keyboard only: the key field, Tab to the password, Enter submits
    await page.getByLabel('API key', { exact: true }).fill('');
    await page.getByLabel('API key', { exact: true }).focus();
    await page.keyboard.type(owner.credentials.api_key);
    await page.keyboard.press('Tab');
    await page.keyboard.type(owner.credentials.password);
    await page.keyboard.press('Enter');
    await keyRow(owner.credentials.api_key).waitFor();
    await expect(keyRow(owner.credentials.api_key).textContent()).resolves.toContain('(this session)');
    expect(await page.locator('#who').textContent()).toContain(`Account ${accountId}`);

    // focus is visible on keyboard navigation
    await page.keyboard.press('Tab');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    expect(outline).not.toBe('none');

    // nothing but the tab's memory holds the credentials
    expect(await page.evaluate(() => [localStorage.length, sessionStorage.length, document.cookie])).toEqual([0, 0, '']);
    expect(await context.cookies()).toEqual([]);
    expect(await page.content()).not.toContain(owner.credentials.password);
    await shot('02-keys');
  }, 120_000);

  it('creates a key (password shown once, copied on click) that works over HTTP; regenerates it; disables it (403)', async () => {
    await page.getByLabel('Read-write (RW)').check();
    await page.getByRole('button', { name: 'Create key' }).click();
    const created = await copySecret();
    expect(created.api_key).toMatch(new RegExp(`^${accountId}_`));
    await shot('03-new-key');
    await keyRow(created.api_key).waitFor();

    const client = new V1Client(base, created);
    const users = expectSuccess(await client.get('/v1/users'));
    expect(users.map((u: any) => u.user)).toEqual([user]);
    expect(users[0].password).toBe('Sip5ecret!'); // a RW key

    await page.getByRole('button', { name: 'Done, I saved it' }).click();
    expect(await page.locator('#secret-box').isHidden()).toBe(true);
    expect(await page.locator('#secret-password').textContent()).toBe('');

    // "last used" shows the request the test just made
    await waitFor('last used shown', async () => {
      await page.getByRole('button', { name: 'Refresh keys' }).click();
      const cells = await keyRow(created.api_key).locator('td').allTextContents();
      return cells[2] && cells[2] !== 'never' ? true : undefined;
    }, WAIT_MS);

    await page.getByRole('button', { name: `Regenerate password of ${created.api_key}` }).click();
    const regenerated = await copySecret();
    expect(regenerated.api_key).toBe(created.api_key);
    expect(regenerated.password).not.toBe(created.password);
    expectError(await client.get('/v1/users', { after: 'regenerate' }), 403, 'Invalid hash');
    const fresh = new V1Client(base, regenerated);
    // same key, so another URL than the first request's (1 per second per key and URL)
    expectSuccess(await fresh.get('/v1/users', { after: 'regenerated' }));
    await page.getByRole('button', { name: 'Done, I saved it' }).click();

    await page.getByRole('button', { name: `Disable ${created.api_key}` }).click();
    await waitFor('shown disabled', async () => ((await keyRow(created.api_key).textContent())?.includes('Disabled') ? true : undefined), WAIT_MS);
    expectError(await fresh.get('/v1/users', { after: 'disable' }), 403, 'API key is disabled');
    await shot('04-key-disabled');

    // the session's own key is the last enabled RW key but one: deleting the new one is fine,
    // disabling its own (last) RW key is refused with the server's reason
    await page.getByRole('button', { name: `Delete ${created.api_key}` }).click();
    await keyRow(created.api_key).waitFor({ state: 'detached' });
    expectError(await fresh.get('/v1/users', { after: 'delete' }), 403, 'API key does not exist');
    await page.getByRole('button', { name: `Disable ${owner.credentials.api_key} (this session)` }).click();
    await waitFor('lock-out refused', async () => (/at least one enabled RW key/.test((await alert().textContent()) ?? '') ? true : undefined), WAIT_MS);
    expect(await page.locator('#sign-in-panel').isHidden()).toBe(true);
  }, 180_000);

  it('lists the users with their phones’ registration state', async () => {
    await page.getByRole('button', { name: 'Users', exact: true }).click();
    const row = page.locator(`#users-table tr[data-user="${user}"]`);
    await row.waitFor();
    await waitFor('registered', async () => ((await row.textContent())?.includes('Registered') ? true : undefined), WAIT_MS);
    expect(await row.textContent()).toContain('401');
    await shot('05-users');
  });

  it('lists the last calls and plays a recording in the audio element', async () => {
    await page.getByRole('button', { name: 'Calls', exact: true }).click();
    const play = page.getByRole('button', { name: /^Play the recording of the call from 401 to 79101234567/ });
    await play.first().waitFor();
    await play.first().click();
    await page.waitForFunction(
      () => {
        const audio = document.getElementById('player');
        return audio.src.startsWith('blob:') && audio.duration > 0 && !audio.paused && audio.currentTime > 0;
      },
      undefined,
      { timeout: WAIT_MS },
    );
    expect(await page.locator('#player-now').textContent()).toContain('Playing the recording of the call from 401');
    await waitFor('announced', async () => ((await status().textContent())?.includes('Playing the recording') ? true : undefined), WAIT_MS);
    await shot('06-calls');
  }, 120_000);

  it('GET /v1/users/registrations follows the phone (any key, own account only), and so does the page', async () => {
    const ro = new V1Client(base, await world.admin.createKey(accountId, 'RO'));
    expect(expectSuccess(await ro.get('/v1/users/registrations'))).toEqual([{ user, num: '401', registered: true }]);
    const stranger = await world.client(newAccountId(), 'RW');
    expect(expectSuccess(await stranger.get('/v1/users/registrations'))).toEqual([]);

    const unregistered = await fetch(`${world.stack.simulatorControl}/devices/${user}/unregister`, { method: 'POST' });
    expect(unregistered.status).toBe(200);
    let poll = 0;
    await waitFor('unregistered', async () => {
      const list = expectSuccess(await ro.get('/v1/users/registrations', { poll: String(++poll) }));
      return list[0]?.registered === false ? true : undefined;
    }, WAIT_MS);

    await page.getByRole('button', { name: 'Users', exact: true }).click();
    const row = page.locator(`#users-table tr[data-user="${user}"]`);
    await waitFor('shown not registered', async () => {
      await page.getByRole('button', { name: 'Refresh users' }).click();
      return (await row.textContent())?.includes('Not registered') ? true : undefined;
    }, WAIT_MS);
  }, 120_000);

  it('manages webhooks: secret shown once and copied, a signed delivery arrives, a failed one is retried from the page', async () => {
    const receiver = await new WebhookReceiver().start();
    // the first request fails: the delivery waits for its (10 min) retry, or the page's Retry
    receiver.on('/crm', (_request, count) => ({ status: count === 1 ? 500 : 200 }));
    try {
      await page.getByRole('button', { name: 'Webhooks', exact: true }).click();
      await page.getByLabel('Receiver URL').fill(receiver.url('/crm'));
      await page.getByLabel('Description (optional)').fill('Our CRM');
      await page.getByRole('button', { name: 'Create webhook' }).click();
      await page.locator('#webhook-secret-box').waitFor({ state: 'visible' });
      await page.getByRole('button', { name: 'Copy secret' }).click();
      await waitFor('secret copied', async () => (/Signing secret copied/.test((await status().textContent()) ?? '') ? true : undefined), WAIT_MS);
      const secret = await clipboard();
      expect(secret).toMatch(/^whsec_/);
      await page.getByRole('button', { name: 'Done, I saved it' }).click();
      expect(await page.locator('#webhook-secret').textContent()).toBe('');
      const row = page.locator('#webhooks-table tbody tr', { hasText: receiver.url('/crm') });
      await row.waitFor();
      expect(await row.textContent()).toContain('Enabled');

      // an event of the account (published as its producer would, on CRM_EVENTS): signed with the copied secret
      const nc = await connect({ servers: world.stack.nats.url });
      try {
        const event = {
          id: crmEventId(`account-page:${process.pid}:${Date.now()}`),
          type: 'user.updated',
          timestamp: new Date().toISOString(),
          account_id: accountId,
          data: { account_id: accountId, user, num: '401', mail: 'anna.k@example.com', voice_mail_box: 'off' },
        };
        await jetstream(nc).publish(crmEventSubject(accountId), JSON.stringify(event), { msgID: event.id });
      } finally {
        await nc.close();
      }
      const first = await waitFor('first delivery', async () => receiver.at('/crm')[0], WAIT_MS);
      const verified = new StandardWebhook(secret).verify(first.body, first.headers as Record<string, string>) as any;
      expect(verified).toMatchObject({ type: 'user.updated', account_id: accountId, data: { user, mail: 'anna.k@example.com' } });

      await page.getByRole('button', { name: `Deliveries of ${receiver.url('/crm')}` }).click();
      const delivery = page.locator('#deliveries-table tbody tr', { hasText: 'user.updated' });
      await waitFor('the failed attempt listed', async () => {
        await page.getByRole('button', { name: 'Refresh deliveries' }).click();
        return (await delivery.textContent())?.includes('500') ? true : undefined;
      }, WAIT_MS);
      await shot('07-webhook-failed');

      await delivery.getByRole('button', { name: /^Retry the delivery of user.updated/ }).click();
      const second = await waitFor('the retried delivery', async () => receiver.at('/crm')[1], WAIT_MS);
      expect(second.headers['webhook-id']).toBe(first.headers['webhook-id']);
      await waitFor('delivered', async () => {
        await page.getByRole('button', { name: 'Refresh deliveries' }).click();
        const text = (await delivery.textContent()) ?? '';
        return text.includes('delivered') && text.includes('200') ? true : undefined;
      }, WAIT_MS);
      await shot('08-webhook-delivered');
    } finally {
      await receiver.stop();
    }
  }, 180_000);

  it('signs out on reload (nothing kept) and had no CSP violation or script error', async () => {
    await page.reload();
    await page.locator('#sign-in-panel').waitFor();
    expect(await page.locator('#nav').isHidden()).toBe(true);
    expect(problems).toEqual([]);
  });
});
