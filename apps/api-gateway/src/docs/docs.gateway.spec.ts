import { execFileSync } from 'node:child_process';
import { startNatsServer, TestNats } from '@ringcloud/testing';
import { call, startGateway, TestGateway, testRedisPrefix } from '../testing/gateway';
import { openApiPath } from '../routing/router';
import { V1_ROUTES } from '../v1/routes';
import { ADMIN_ROUTES } from '../admin/admin.routes';

/** Validates with @seriousme/openapi-schema-validator (ESM-only, so in a child node process). */
function validateOpenApi(document: unknown): { valid: boolean; errors?: unknown; version?: string } {
  const script = `
    import { Validator } from '@seriousme/openapi-schema-validator';
    let input = '';
    process.stdin.on('data', (c) => (input += c));
    process.stdin.on('end', async () => {
      const validator = new Validator();
      const result = await validator.validate(JSON.parse(input));
      process.stdout.write(JSON.stringify({ ...result, version: validator.version }));
    });`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    input: JSON.stringify(document),
    cwd: __dirname,
  });
  return JSON.parse(out.toString());
}

describe('API documentation', () => {
  let nats: TestNats;
  let gw: TestGateway;
  let doc: any;

  beforeAll(async () => {
    nats = await startNatsServer();
    gw = await startGateway({
      NATS_URL: nats.url,
      REDIS_PREFIX: testRedisPrefix(),
      RATE_LIMITS: '{"users.list":{"requests":2,"per_seconds":3}}',
    });
    doc = (await call(gw.url, 'GET', '/docs/openapi.json')).body;
  }, 30_000);
  afterAll(async () => {
    await gw?.close();
    await nats?.stop();
  });

  it('serves a valid OpenAPI 3.1 document', () => {
    expect(doc.openapi).toBe('3.1.0');
    const result = validateOpenApi(doc);
    expect(result.errors).toBeUndefined();
    expect(result).toMatchObject({ valid: true, version: '3.1' });
  });

  it('the validator does reject a broken document (the check above can fail)', () => {
    expect(validateOpenApi({ ...doc, paths: { '/x': { get: { responses: 'nope' } } } }).valid).toBe(false);
  });

  it('documents every route, alias and admin route, with its auth, statuses and limit in force', () => {
    for (const route of V1_ROUTES) {
      for (const path of [route.path, ...(route.aliases ?? [])]) {
        const op = doc.paths[openApiPath(path)]?.[route.method.toLowerCase()];
        expect([path, !!op]).toEqual([path, true]);
        expect(op.security).toEqual([{ api_key: [], hash: [] }]);
        expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['200', '400', '403', '404', '405', '429', '503']));
      }
    }
    for (const route of ADMIN_ROUTES) {
      const op = doc.paths[openApiPath(route.path)]?.[route.method.toLowerCase()];
      expect([route.id, op?.security]).toEqual([route.id, [{ admin_token: [] }]]);
    }
    expect(doc.paths['/admin/v1/numbers'].get.parameters).toEqual([
      expect.objectContaining({ name: 'account_id', in: 'query', required: false, schema: expect.objectContaining({ type: 'string' }) }),
    ]);
    expect(doc.paths['/admin/v1/numbers'].post.requestBody.content['application/json'].schema.required).toEqual(['number', 'account_id', 'user']);
    expect(doc.paths['/admin/v1/numbers/{number}/reassign'].post.requestBody.content['application/json'].schema.required).toEqual(['user']);
    // Deleting a user: both path parameters described, with the user name's pattern.
    expect(doc.paths['/admin/v1/accounts/{account_id}/users/{user}'].delete.parameters).toEqual([
      expect.objectContaining({ name: 'account_id', in: 'path', required: true }),
      expect.objectContaining({ name: 'user', in: 'path', required: true, description: expect.stringMatching(/User name/), schema: expect.objectContaining({ pattern: expect.any(String) }) }),
    ]);
    expect(doc.paths['/admin/v1/accounts/{account_id}/users/{user}/delete'].post.description).toMatch(/User not found/);
    expect(doc.paths['/v1/users'].get['x-rate-limit']).toEqual({ id: 'users.list', requests: 2, per_seconds: 3 });
    expect(doc.paths['/v1/users/create'].post['x-rate-limit']).toEqual({ id: 'users.create', requests: 1, per_seconds: 60 });
    const create = doc.paths['/v1/users/create'].post.requestBody.content['application/json'].schema;
    expect(create.required).toEqual(['params']);
    expect(create.properties.params.required).toEqual(['password', 'num', 'mail']);
    expect(doc.components.securitySchemes.hash).toMatchObject({ type: 'apiKey', in: 'query', name: 'hash' });
    expect(doc.info.description).toMatch(/Digit fields/);
    expect(doc.info.description).toMatch(/API key is disabled/);
    expect(doc.info.description).toMatch(/Admin API/);
  });

  it('serves Swagger UI locally', async () => {
    const page = await call(gw.url, 'GET', '/docs');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.text).toContain('/docs/openapi.json');
    const bundle = await fetch(`${gw.url}/docs/swagger-ui-bundle.js`);
    expect([bundle.status, bundle.headers.get('content-type')]).toEqual([200, 'application/javascript; charset=utf-8']);
    expect((await bundle.text()).length).toBeGreaterThan(100_000);
    expect((await call(gw.url, 'GET', '/docs/package.json')).status).toBe(404);
    expect((await call(gw.url, 'GET', '/docs/..%2Fpackage.json')).status).toBe(404);
  });
});
