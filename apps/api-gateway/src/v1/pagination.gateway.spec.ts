import { Logger } from '@nestjs/common';
import { CURSOR_MESSAGE, CURSOR_NEEDS_LIMIT, LIMIT_MESSAGE, encodeCursor } from '@ringcloud/contracts-common';
import { UsersUserList, UsersUserListPage } from '@ringcloud/contracts-users';
import { FakeUsers } from '../testing/fake-users-service';
import { call, errorEnvelope, GatewayRig, startGatewayRig, TestGateway } from '../testing/gateway';
import { buildOpenApiDocument } from '../docs/openapi';
import { DEFAULT_LIMITS, V1_ROUTES } from './routes';
import { V1Pipeline } from './v1.pipeline';

/** GET /v1/users?limit=&cursor= through a real gateway (NATS, Redis) and the fake users-service. */
describe('v1 pagination and route response headers', () => {
  let rig: GatewayRig;
  let fake: FakeUsers;
  let gw: TestGateway;
  let auth: string;
  const names: string[] = [];

  beforeAll(async () => {
    Logger.overrideLogger(['error']);
    rig = await startGatewayRig({ RATE_LIMIT_PROFILE: 'bench' });
    ({ fake, gateways: [gw] } = rig);
    auth = fake.addKey(1001, 'RW').auth;
    for (let i = 0; i < 7; i++) names.push(fake.addUser(1001, String(410 + i)));
    fake.addUser(1002, '410'); // another tenant's user never shows up
  }, 30_000);

  afterAll(async () => {
    await rig?.close();
    Logger.overrideLogger(['error', 'warn', 'log']);
  });

  const get = (query: string) => call(gw.url, 'GET', `/v1/users?${auth}${query}`);

  it('without limit answers exactly v1 (whole list, no cursor header), read from the service page by page', async () => {
    const before = [fake.count(UsersUserList.subject), fake.count(UsersUserListPage.subject)];
    const res = await get('');
    expect(res.status).toBe(200);
    expect(res.body.data.map((u: any) => u.user)).toEqual(names);
    expect(res.headers.get('x-next-cursor')).toBeNull();
    expect([fake.count(UsersUserList.subject), fake.count(UsersUserListPage.subject)]).toEqual([before[0], before[1] + 1]);
  });

  it('walks the pages with X-Next-Cursor, the last page without it', async () => {
    const seen: string[] = [];
    let query = '&limit=3';
    let pages = 0;
    for (;;) {
      const res = await get(query);
      expect(res.status).toBe(200);
      expect(res.body.status).toBe('success');
      seen.push(...res.body.data.map((u: any) => u.user));
      pages++;
      const next = res.headers.get('x-next-cursor');
      if (!next) break;
      expect(next).toMatch(/^[A-Za-z0-9_-]+$/);
      query = `&limit=3&cursor=${next}`;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(names);
  });

  it.each([
    ['limit=0', LIMIT_MESSAGE],
    ['limit=1001', LIMIT_MESSAGE],
    ['limit=abc', LIMIT_MESSAGE],
    ['limit=-5', LIMIT_MESSAGE],
    ['limit=2.5', LIMIT_MESSAGE],
    ['limit=5&cursor=%00%01', CURSOR_MESSAGE],
    ['limit=5&cursor=not-a-cursor', CURSOR_MESSAGE],
    [`cursor=${encodeCursor(['1679728441'])}`, CURSOR_NEEDS_LIMIT],
    ['limit=1&limit=2', 'parameter limit is given more than once'],
    ['limit=5&cursor=a&cursor=b', 'parameter cursor is given more than once'],
  ])('answers 400 with the v1 envelope for %s, without asking the service', async (query, message) => {
    const before = fake.count(UsersUserListPage.subject);
    const res = await get(`&${query}`);
    expect([res.status, res.body]).toEqual([400, errorEnvelope(message)]);
    expect(res.headers.get('x-next-cursor')).toBeNull();
    expect(fake.count(UsersUserListPage.subject)).toBe(before);
  });

  it('answers 400 for a forged completed-calls cursor whose key holds a NUL, without asking calls-service', async () => {
    // {"k":[1796310516000,1796310511000,"a\u0000b"]}: once a 500 from PostgreSQL (22021) in calls-service.
    const cursor = 'eyJrIjpbMTc5NjMxMDUxNjAwMCwxNzk2MzEwNTExMDAwLCJhXHUwMDAwYiJdfQ';
    const res = await call(gw.url, 'GET', `/v1/calls/complete?${auth}&limit=3&cursor=${cursor}`);
    expect([res.status, res.body]).toEqual([400, errorEnvelope(CURSOR_MESSAGE)]);
  });

  it.each([
    ['days=3&days=9', 'parameter days is given more than once'],
    ['num=401&num=402', 'parameter num is given more than once'],
  ])('answers 400 for completed calls with %s: which one was meant would be a guess', async (query, message) => {
    const res = await call(gw.url, 'GET', `/v1/calls/complete?${auth}&${query}`);
    expect([res.status, res.body]).toEqual([400, errorEnvelope(message)]);
  });

  it("passes the service's 400 for a cursor of another list through", async () => {
    const res = await get(`&limit=2&cursor=${encodeCursor([1, 'x', 'y'])}`);
    expect([res.status, res.body]).toEqual([400, errorEnvelope(CURSOR_MESSAGE)]);
  });

  it('documents the query parameters and the header per route in OpenAPI', () => {
    const doc: any = buildOpenApiDocument(V1_ROUTES, [], DEFAULT_LIMITS);
    const op = doc.paths['/v1/users'].get;
    expect(op.parameters.map((p: any) => p.name)).toEqual(['limit', 'cursor']);
    expect(op.responses[200].headers['X-Next-Cursor']).toMatchObject({ schema: { type: 'string' } });
    expect(doc.paths['/v1/users/{username}'].get.responses[200].headers['X-Next-Cursor']).toBeUndefined();
  });

  it('lets a handler set only the headers its route declares, on success only', async () => {
    const pipeline = gw.app.get(V1Pipeline);
    const route = pipeline.router.resolve('GET', ['v1', 'users']).route;
    const handle = route.handle;
    const sent: Record<string, string> = {};
    const reply: any = { headers: (h: Record<string, string>) => Object.assign(sent, h) };
    const request: any = { url: `/v1/users?${auth}`, method: 'GET', headers: {} };
    try {
      (route as any).handle = async (c: any) => {
        c.setHeader('x-next-cursor', 'abc');
        return [];
      };
      await pipeline.run(request, reply);
      expect(sent['X-Next-Cursor']).toBe('abc'); // the declared spelling
      (route as any).handle = async (c: any) => c.setHeader('X-Call-Id', '1');
      await expect(pipeline.run(request, reply)).rejects.toThrow('undeclared response header X-Call-Id');
      (route as any).handle = async (c: any) => c.setHeader('X-Next-Cursor', 'a\r\nSet-Cookie: x=1');
      await expect(pipeline.run(request, reply)).rejects.toThrow('not printable ASCII');
      delete sent['X-Next-Cursor'];
      (route as any).handle = async (c: any) => {
        c.setHeader('X-Next-Cursor', 'abc');
        throw new Error('failed later');
      };
      await expect(pipeline.run(request, reply)).rejects.toThrow('failed later');
      expect(sent['X-Next-Cursor']).toBeUndefined();
    } finally {
      (route as any).handle = handle;
    }
  });
});
