import { HttpProblem } from '../http/http-problem';
import { V1_ROUTES, V1Route } from '../v1/routes';
import { canonicalQuery, parseRequestUrl } from './request-url';
import { Router } from './router';

const router = new Router<V1Route>(V1_ROUTES);
const resolve = (method: string, url: string) => router.resolve(method, parseRequestUrl(url).segments);
const problem = (fn: () => unknown): HttpProblem => {
  try {
    fn();
  } catch (err) {
    if (err instanceof HttpProblem) return err;
    throw err;
  }
  throw new Error('expected an HttpProblem');
};

describe('v1 route table', () => {
  it('routes every URL of spec section 5 to its limit id', () => {
    const expected: Array<[string, string, string]> = [
      ['GET', '/v1/users', 'users.list'],
      ['GET', '/v1/users/1679728441', 'users.get'],
      ['POST', '/v1/users/1679728441/update_password', 'users.update_password'],
      ['POST', '/v1/users/1679728441/update_extension_number', 'users.update_extension_number'],
      ['POST', '/v1/users/1679728441/update_email', 'users.update_email'],
      ['POST', '/v1/users/1679728441/voice_mail_box_on', 'users.voice_mail_box_on'],
      ['POST', '/v1/users/1679728441/voice_mail_box_off', 'users.voice_mail_box_off'],
      ['POST', '/v1/users/create', 'users.create'],
      ['GET', '/v1/users/1679728441/records', 'users.records.list'],
      ['GET', '/v1/users/1679728441/records/2024-01-01.wav', 'users.records.download'],
      ['GET', '/v1/calls/channels', 'calls.channels.list'],
      ['GET', '/v1/calls/channels/PJSIP/1679728441-00000012', 'calls.channels.get'],
      ['POST', '/v1/calls', 'calls.originate'],
      ['GET', '/v1/calls/complete', 'calls.complete'],
      ['GET', '/v1/calls/complite', 'calls.complete'],
      ['GET', '/v1/calls/active', 'calls.active'],
      // A call id never shadows the literal call URLs.
      ['GET', '/v1/calls/0b6f2f0e-5c1a-4d4e-9a7e-2f1c3b4d5e6f', 'calls.get'],
      ['GET', '/v1/calls/pbx1:1795701031.22', 'calls.get'],
    ];
    for (const [method, url, id] of expected) expect([method, url, resolve(method, url).route.id]).toEqual([method, url, id]);
  });

  it('has the default limits of the spec', () => {
    const limits = Object.fromEntries(V1_ROUTES.map((r) => [r.id, `${r.limit.requests}/${r.limit.per_seconds}`]));
    // The spec's table (extensions add their own routes beside it).
    expect(limits).toMatchObject({
      'users.list': '1/1',
      'users.get': '1/1',
      'users.update_password': '1/1',
      'users.update_extension_number': '1/5',
      'users.update_email': '1/5',
      'users.voice_mail_box_on': '1/5',
      'users.voice_mail_box_off': '1/5',
      'users.create': '1/60',
      'users.records.list': '1/5',
      'users.records.download': '1/1',
      'calls.channels.list': '1/2',
      'calls.channels.get': '1/2',
      'calls.originate': '1/5',
      'calls.complete': '1/5',
      'calls.active': '1/5',
      'calls.get': '1/1',
      'users.delete': '1/5', // issue 9
      'webhooks.create': '1/5',
      'webhooks.list': '1/1',
      'webhooks.get': '1/1',
      'webhooks.update': '1/1',
      'webhooks.delete': '1/1',
      'webhooks.rotate_secret': '1/5',
      'webhooks.deliveries.list': '1/1',
      'webhooks.deliveries.retry': '1/1',
      'events.list': '1/1',
    });
    // GETs are for any key, except the owner's key management (RW keys only, docs/api.md).
    const rwOnly = (route: (typeof V1_ROUTES)[number]) => route.method === 'POST' || route.id.startsWith('keys.');
    for (const route of V1_ROUTES) expect([route.id, route.access]).toEqual([route.id, rwOnly(route) ? 'RW' : 'RO']);
  });

  it('answers 404 for unknown URLs and 405 with Allow for another method', () => {
    expect(problem(() => resolve('GET', '/v1/nope')).status).toBe(404);
    expect(problem(() => resolve('GET', '/v1/users/1679728441/unknown')).status).toBe(404);
    const wrong = problem(() => resolve('POST', '/v1/users'));
    expect([wrong.status, wrong.headers.Allow]).toEqual([405, 'GET']);
    // The literal route wins over /v1/users/<username>: GET on create is a wrong method, not a user.
    const create = problem(() => resolve('GET', '/v1/users/create'));
    expect([create.status, create.headers.Allow]).toEqual([405, 'POST']);
    for (const method of ['PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS']) {
      expect(problem(() => resolve(method, '/v1/calls')).headers.Allow).toBe('POST');
    }
  });

  it('takes channel names raw or %2F-encoded, as the same URL', () => {
    const raw = resolve('GET', '/v1/calls/channels/PJSIP/1679728441-00000012');
    const encoded = resolve('GET', '/v1/calls/channels/PJSIP%2F1679728441-00000012');
    expect(raw.params.channel).toBe('PJSIP/1679728441-00000012');
    expect(encoded.params).toEqual(raw.params);
    expect(encoded.canonicalPath).toBe(raw.canonicalPath);
  });

  it('gives an alias the canonical URL (one rate-limit bucket)', () => {
    expect(resolve('GET', '/v1/calls/complite?days=2').canonicalPath).toBe('/v1/calls/complete');
  });

  it('treats undecodable and dot segments as unknown URLs', () => {
    for (const url of ['/v1/users/%', '/v1/users/%zz', '/v1/users/%C3%28', '/v1/users/..', '/v1/users/./1', '/v1/users/%2e%2e/x', 'v1/users']) {
      expect([url, problem(() => resolve('GET', url)).status]).toEqual([url, 404]);
    }
    expect(resolve('GET', '/v1/users/').route.id).toBe('users.list');
  });

  it('merges repeated slashes like nginx (a base URL ending in / joined with a rec_file), but not encoded ones', () => {
    expect(resolve('GET', '//v1//users').route.id).toBe('users.list');
    const rec = resolve('GET', '//v1/users/1679728441/records//1795700987.2.wav');
    expect([rec.route.id, rec.params, rec.canonicalPath]).toEqual([
      'users.records.download',
      { username: '1679728441', filename: '1795700987.2.wav' },
      '/v1/users/1679728441/records/1795700987.2.wav',
    ]);
    expect(problem(() => resolve('GET', '/v1/users%2F%2F1679728441')).status).toBe(404);
  });
});

describe('canonicalQuery', () => {
  it('drops api_key and hash and sorts parameters', () => {
    const a = canonicalQuery(parseRequestUrl('/x?api_key=k1&hash=h1&b=2&a=1&a=0').query);
    const b = canonicalQuery(parseRequestUrl('/x?a=0&hash=h2&a=1&b=2&api_key=k2').query);
    expect(a).toBe('a=0&a=1&b=2');
    expect(b).toBe(a);
    expect(canonicalQuery(parseRequestUrl('/x?days=1').query)).not.toBe(canonicalQuery(parseRequestUrl('/x?days=2').query));
  });
});
