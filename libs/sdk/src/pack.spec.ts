import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SDK_ROOT = path.join(__dirname, '..');
const WORKSPACE = path.join(SDK_ROOT, '../..');

// What a user of the SDK does: npm pack, npm install <tarball> in an empty folder, then import or
// require it. Offline: the package has no dependencies, so installing the tarball needs no registry.
describe('the packed SDK', () => {
  let dir: string;
  let tarball: string;
  let app: string;
  const npm = (args: string[], cwd: string) =>
    run('npm', args, { cwd, env: { ...process.env, npm_config_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' }, maxBuffer: 16 * 1024 * 1024 });
  const node = (args: string[]) => run(process.execPath, args, { cwd: app });

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'rc-sdk-pack-'));
    await npm(['pack', '--pack-destination', dir], SDK_ROOT); // prepack builds dist/esm and dist/cjs with tsc
    tarball = path.join(dir, readdirSync(dir).find((f) => f.endsWith('.tgz'))!);
    app = path.join(dir, 'app');
    await run('mkdir', [app]);
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'crm', version: '1.0.0', private: true }));
    await npm(['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball], app);
  }, 240_000);
  afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

  it('holds the two builds, their types and the README — no sources, no tests, no dependencies', async () => {
    const { stdout } = await run('tar', ['-tzf', tarball]);
    const files = stdout.trim().split('\n').map((f) => f.replace(/^package\//, ''));
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'dist/esm/index.js', 'dist/esm/index.d.ts', 'dist/esm/package.json', 'dist/cjs/index.js', 'dist/cjs/index.d.ts', 'dist/cjs/package.json']));
    expect(files.filter((f) => /\.spec\.|(^|\/)src\/|testing\//.test(f))).toEqual([]);
    const installed = require(path.join(app, 'node_modules/@ringcloud/sdk/package.json'));
    expect(installed.dependencies ?? {}).toEqual({});
    expect(readdirSync(path.join(app, 'node_modules'))).toEqual(['.package-lock.json', '@ringcloud']);
  });

  const program = `
    const hash = sdk.v1Hash('1001_a1b2c3', 's3cret');
    const secret = 'whsec_' + Buffer.from('0123456789abcdef0123456789abcdef').toString('base64');
    const body = '{"id":"evt_x","type":"user.created","timestamp":"t","account_id":1,"data":{}}';
    const now = Math.floor(Date.now() / 1000);
    const signature = sdk.signWebhook(secret, 'evt_x', now, body);
    const event = new sdk.WebhookVerifier(secret).verify(body, { 'webhook-id': 'evt_x', 'webhook-timestamp': String(now), 'webhook-signature': signature });
    const client = new sdk.RingCloud({ baseUrl: 'http://127.0.0.1:1', apiKey: '1001_a1b2c3', password: 's3cret', retry: { maxAttempts: 1 } });
    client.users.list().catch((err) => {
      console.log(JSON.stringify({ hash, type: event.payload.type, ops: Object.keys(sdk.OPERATIONS).length,
        error: err.name, network: err instanceof sdk.RingCloudNetworkError, method: typeof client.usersGet }));
    });`;

  it('works with require (CommonJS)', async () => {
    const { stdout } = await node(['-e', `const sdk = require('@ringcloud/sdk'); ${program}`]);
    expect(JSON.parse(stdout)).toEqual({ hash: 'ef103d9e3ab11e61f71ef13dbaeb0743', type: 'user.created', ops: expect.any(Number), error: 'RingCloudNetworkError', network: true, method: 'function' });
  });

  it('works with import (ESM)', async () => {
    const { stdout } = await node(['--input-type=module', '-e', `import * as sdk from '@ringcloud/sdk'; ${program}`]);
    expect(JSON.parse(stdout)).toEqual({ hash: 'ef103d9e3ab11e61f71ef13dbaeb0743', type: 'user.created', ops: expect.any(Number), error: 'RingCloudNetworkError', network: true, method: 'function' });
    // ESM is the real ESM build, not the CommonJS one wrapped
    const { stdout: resolved } = await node(['--input-type=module', '-e', "console.log(import.meta.resolve('@ringcloud/sdk'))"]);
    expect(resolved.trim()).toMatch(/dist\/esm\/index\.js$/);
  });

  it('its types resolve for TypeScript users of both module systems', async () => {
    const consumer = `import { RingCloud, type V1User, RateLimitError } from '@ringcloud/sdk';
      const client = new RingCloud({ baseUrl: 'http://x', apiKey: 'k', password: 'p' });
      export async function names(): Promise<string[]> { const users: V1User[] = await client.users.list(); return users.map((u) => u.num); }
      export const isLimit = (e: unknown) => e instanceof RateLimitError && e.retryAfter;`;
    writeFileSync(path.join(app, 'esm.mts'), consumer);
    writeFileSync(path.join(app, 'cjs.cts'), consumer);
    const tsc = require.resolve('typescript/bin/tsc', { paths: [WORKSPACE] });
    const typeRoots = path.join(WORKSPACE, 'node_modules/@types');
    await run(process.execPath, [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--typeRoots', typeRoots, '--types', 'node', 'esm.mts', 'cjs.cts'], { cwd: app }).catch(
      (err) => {
        throw new Error(`tsc: ${err.stdout}${err.stderr}`);
      },
    );
  }, 120_000);
});
