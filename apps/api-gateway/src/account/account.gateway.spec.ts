import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startNatsServer, TestNats } from '@ringcloud/testing';
import { call, rawCall, startGateway, TestGateway, testRedisPrefix } from '../testing/gateway';
import { ACCOUNT_PAGE_CSP } from './account.controller';

describe('the account page’s files (/account)', () => {
  let nats: TestNats;
  let gw: TestGateway;

  beforeAll(async () => {
    nats = await startNatsServer();
    gw = await startGateway({ NATS_URL: nats.url, REDIS_PREFIX: testRedisPrefix() });
  }, 30_000);
  afterAll(async () => {
    await gw?.close();
    await nats?.stop();
  });

  it('serves the page and its files with the security headers, nothing else', async () => {
    const page = await call(gw.url, 'GET', '/account');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toBe(ACCOUNT_PAGE_CSP);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page.text).toBe(readFileSync(path.join(__dirname, 'static', 'index.html'), 'utf8'));
    // no inline script: every <script> has a src
    expect(page.text.match(/<script(?![^>]*\bsrc=)[^>]*>/g)).toBeNull();

    for (const [file, type] of [
      ['app.js', 'text/javascript; charset=utf-8'],
      ['md5.js', 'text/javascript; charset=utf-8'],
      ['style.css', 'text/css; charset=utf-8'],
      ['index.html', 'text/html; charset=utf-8'],
    ]) {
      const res = await call(gw.url, 'GET', `/account/${file}`);
      expect([file, res.status, res.headers.get('content-type'), res.headers.get('content-security-policy')]).toEqual([file, 200, type, ACCOUNT_PAGE_CSP]);
    }
    for (const bad of ['/account/nothing.js', '/account/..%2Fpackage.json', '/account/%2e%2e', '/account/account.controller.ts', '/account/static']) {
      const res = await call(gw.url, 'GET', bad);
      expect([bad, res.status, res.body?.status]).toEqual([bad, 404, 'error']);
    }
    for (const raw of ['/account/../package.json', '/account/../../../package.json', '/account/./app.js/x']) expect([raw, (await rawCall(gw.url, 'GET', raw)).status]).toEqual([raw, 404]);
    expect((await call(gw.url, 'POST', '/account')).status).toBe(404);
  });
});
