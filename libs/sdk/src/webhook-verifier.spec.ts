import { randomBytes } from 'node:crypto';
import { IncomingHttpHeaders } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { WebhookVerificationError } from './errors';
import { WebhookVerifier, signWebhook, verifyWebhook } from './webhook-verifier';

// The official Standard Webhooks library is the independent referee: what it signs we accept,
// what we sign it accepts, and both refuse the same tampering.
const newSecret = () => `whsec_${randomBytes(24).toString('base64')}`;
const body = JSON.stringify({
  id: 'evt_abcdefghijklmnopqrstuvwxyz',
  type: 'call.ringing',
  timestamp: '2026-12-03T04:00:00.000Z',
  account_id: 1001,
  data: { call_id: 'pbx1:1795700987.2', sequence: 1, party: 'user', src: '401', dst: '79101234567' },
});
const id = 'evt_abcdefghijklmnopqrstuvwxyz';

function officialHeaders(secret: string, at = new Date(), payload = body) {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(id, at, payload),
  };
}

describe('WebhookVerifier (Standard Webhooks)', () => {
  it('accepts what the official library signs, and returns the parsed event', () => {
    const secret = newSecret();
    const verified = new WebhookVerifier(secret).verify(body, officialHeaders(secret));
    expect(verified.id).toBe(id);
    expect(verified.payload).toEqual(JSON.parse(body));
    expect(verified.timestamp).toBeInstanceOf(Date);
  });

  it('signs exactly as the official library does, and the official library accepts it', () => {
    const secret = newSecret();
    const at = new Date();
    expect(signWebhook(secret, id, at, body)).toBe(new Webhook(secret).sign(id, at, body));
    const headers = { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': signWebhook(secret, id, at, body) };
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('refuses a tampered body, a wrong secret, another id or timestamp — as the official library does', () => {
    const secret = newSecret();
    const headers = officialHeaders(secret);
    const cases: Array<[string, string, Record<string, string>]> = [
      ['body', body.replace('79101234567', '79101234568'), headers],
      ['secret', body, officialHeaders(newSecret())],
      ['id', body, { ...headers, 'webhook-id': 'evt_other' }],
      ['timestamp', body, { ...headers, 'webhook-timestamp': String(Number(headers['webhook-timestamp']) - 1) }],
      ['signature', body, { ...headers, 'webhook-signature': 'v1,' + Buffer.alloc(32).toString('base64') }],
      ['version', body, { ...headers, 'webhook-signature': headers['webhook-signature'].replace('v1,', 'v2,') }],
    ];
    for (const [what, payload, h] of cases) {
      const outcome = (verify: () => unknown) => {
        try {
          verify();
          return `${what}: accepted`;
        } catch (err) {
          return `${what}: refused${err instanceof WebhookVerificationError ? ' (WebhookVerificationError)' : ''}`;
        }
      };
      expect(outcome(() => new Webhook(secret).verify(payload, h))).toBe(`${what}: refused`);
      expect(outcome(() => new WebhookVerifier(secret).verify(payload, h))).toBe(`${what}: refused (WebhookVerificationError)`);
    }
  });

  it('accepts any one of several space-separated signatures (a rotated secret signs too for 24 h)', () => {
    const [oldSecret, newOne] = [newSecret(), newSecret()];
    const at = new Date();
    const both = `${new Webhook(newOne).sign(id, at, body)} ${new Webhook(oldSecret).sign(id, at, body)}`;
    const headers = { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': both };
    // a receiver that still has only the old secret, one with only the new one, one with both
    expect(new WebhookVerifier(oldSecret).verify(body, headers).id).toBe(id);
    expect(new WebhookVerifier(newOne).verify(body, headers).id).toBe(id);
    expect(new WebhookVerifier([newOne, oldSecret]).verify(body, headers).id).toBe(id);
    // the official library agrees on each
    expect(new Webhook(oldSecret).verify(body, headers)).toBeTruthy();
    expect(new Webhook(newOne).verify(body, headers)).toBeTruthy();
    // and a receiver with neither refuses
    expect(() => new WebhookVerifier(newSecret()).verify(body, headers)).toThrow('No matching signature found');
    // a receiver configured with old + new secrets accepts a delivery signed by either alone
    expect(new WebhookVerifier([oldSecret, newOne]).verify(body, officialHeaders(newOne)).id).toBe(id);
  });

  it('refuses timestamps outside the tolerance (5 minutes by default, configurable)', () => {
    const secret = newSecret();
    const now = Date.now();
    const old = officialHeaders(secret, new Date(now - 301_000));
    const future = officialHeaders(secret, new Date(now + 301_000));
    expect(() => new WebhookVerifier(secret).verify(body, old)).toThrow('Message timestamp too old');
    expect(() => new WebhookVerifier(secret).verify(body, future)).toThrow('Message timestamp too new');
    expect(() => new Webhook(secret).verify(body, old)).toThrow();
    expect(new WebhookVerifier(secret, { toleranceSeconds: 600 }).verify(body, old).id).toBe(id);
    expect(new WebhookVerifier(secret, { now: () => now - 300_000 }).verify(body, old).id).toBe(id);
  });

  it('refuses missing or malformed headers', () => {
    const secret = newSecret();
    const headers = officialHeaders(secret);
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const) {
      const { [name]: _dropped, ...rest } = headers;
      expect(() => verifyWebhook(secret, body, rest)).toThrow('Missing required headers');
    }
    expect(() => verifyWebhook(secret, body, { ...headers, 'webhook-timestamp': 'soon' })).toThrow(WebhookVerificationError);
    expect(() => verifyWebhook(secret, body, { ...headers, 'webhook-signature': 'garbage' })).toThrow('No matching signature found');
  });

  it('reads headers from node:http, fetch Headers and any letter case; bodies as string or bytes', () => {
    const secret = newSecret();
    const h = officialHeaders(secret);
    const node: IncomingHttpHeaders = { ...h, 'content-type': 'application/json' };
    const fetchHeaders = new Headers(h);
    const shouting = { 'Webhook-Id': h['webhook-id'], 'Webhook-Timestamp': h['webhook-timestamp'], 'Webhook-Signature': h['webhook-signature'] };
    for (const headers of [node, fetchHeaders, shouting]) expect(verifyWebhook(secret, body, headers).id).toBe(id);
    expect(verifyWebhook(secret, Buffer.from(body), h).id).toBe(id);
    expect(verifyWebhook(secret, new TextEncoder().encode(body), h).id).toBe(id);
  });

  it('takes the secret with or without its whsec_ prefix, and refuses an empty one', () => {
    const secret = newSecret();
    expect(verifyWebhook(secret.slice('whsec_'.length), body, officialHeaders(secret)).id).toBe(id);
    expect(() => new WebhookVerifier('whsec_')).toThrow(TypeError);
    expect(() => new WebhookVerifier([])).toThrow(TypeError);
  });
});
