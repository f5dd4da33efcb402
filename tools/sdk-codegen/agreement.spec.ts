import { readFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OPERATIONS, OPERATION_METHODS, RingCloud } from '@ringcloud/sdk';
// eslint-disable-next-line @nx/enforce-module-boundaries -- the agreement is with the gateway's own document
import { servedOpenApiDocument } from '../../apps/api-gateway/src/docs/served-document';
import { generateOperationsModule, readOperations, schemaToTs } from './codegen';
import { GENERATED_FILE } from './generate';

// The SDK and the OpenAPI document the gateway serves must agree: a route added (or changed) without
// regenerating the SDK (`npm run sdk:generate`) fails here.
const doc: any = servedOpenApiDocument();
const served = Object.entries<any>(doc.paths).flatMap(([path, item]) =>
  Object.entries<any>(item).map(([method, op]) => ({ path, method: method.toUpperCase(), id: op.operationId as string })),
);

describe('SDK ↔ OpenAPI agreement', () => {
  it('the checked-in generated/operations.ts is what the served document generates (else: npm run sdk:generate)', () => {
    const expected = generateOperationsModule(doc);
    const actual = readFileSync(GENERATED_FILE, 'utf8');
    if (actual !== expected) throw new Error('libs/sdk/src/generated/operations.ts is out of date: run `npm run sdk:generate` and commit it');
  });

  it('notices a route added to the document (the check above can fail)', () => {
    const extra = structuredClone(doc);
    extra.paths['/v1/new_thing'] = {
      get: { operationId: 'new.thing', summary: 'New', security: [{ api_key: [], hash: [] }], responses: { 200: { description: 'ok' } } },
    };
    expect(generateOperationsModule(extra)).not.toBe(readFileSync(GENERATED_FILE, 'utf8'));
    expect(generateOperationsModule(extra)).toContain('newThing(');
  });

  it('every served operation (aliases included) has an SDK method', () => {
    const client = new RingCloud({ baseUrl: 'http://127.0.0.1:1', apiKey: 'k', password: 'p', adminToken: 't' }) as any;
    const missing = served.filter(({ id, path, method }) => {
      const main = id.endsWith('.alias') ? id.slice(0, -'.alias'.length) : id;
      const op = (OPERATIONS as any)[main];
      if (!op) return true;
      if (op.method !== method || (op.path !== path && !op.aliases.includes(path))) return true;
      return typeof client[(OPERATION_METHODS as any)[main]] !== 'function';
    });
    expect(missing).toEqual([]);
    expect(Object.keys(OPERATIONS).length).toBe(served.filter((s) => !s.id.endsWith('.alias')).length);
  });

  describe('each generated method sends the method and path the document names', () => {
    let server: Server;
    let url: string;
    const seen: Array<{ method: string; path: string; auth: string | undefined; query: URLSearchParams; body: string }> = [];
    beforeAll(async () => {
      server = createServer((req, res) => {
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () => {
          const u = new URL(req.url!, 'http://x');
          seen.push({ method: req.method!, path: u.pathname, auth: req.headers.authorization, query: u.searchParams, body });
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ status: 'success', message: null, data: null }));
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    it.each(readOperations(doc).map((op) => [op.id, op] as const))('%s', async (_id, op) => {
      const client = new RingCloud({ baseUrl: url, apiKey: '1001_k', password: 'p', adminToken: 'tok', retry: { maxAttempts: 1 } }) as any;
      const path = Object.fromEntries(op.pathParams.map((p) => [p, `${p}1`]));
      const input = { path, ...(op.body === 'params' ? { params: {} } : op.body === 'json' ? { body: {} } : {}) };
      seen.length = 0;
      await client[op.methodName](input).catch(() => undefined); // a download answered with JSON is fine here
      expect(seen).toHaveLength(1);
      expect(seen[0].method).toBe(op.method);
      expect(seen[0].path).toBe(op.path.replace(/\{([a-z_]+)\}/g, (_m: string, name: string) => `${name}1`));
      if (op.auth === 'key') expect([seen[0].query.get('api_key'), seen[0].auth]).toEqual(['1001_k', undefined]);
      if (op.auth === 'admin') expect([seen[0].query.get('api_key'), seen[0].auth]).toEqual([null, 'Bearer tok']);
      if (op.body === 'params') expect(JSON.parse(seen[0].body)).toEqual({ params: {} });
    });
  });
});

describe('JSON Schema → TypeScript', () => {
  const ts = (schema: unknown) => schemaToTs({ components: { schemas: { X: { type: 'string' } } } }, schema).replace(/\s+/g, ' ');
  it.each([
    [{ type: 'string' }, 'string'],
    [{ type: 'integer' }, 'number'],
    [{ type: ['string', 'null'] }, 'string | null'],
    [{ const: 'complete' }, '"complete"'],
    [{ enum: ['on', 'off'] }, '"on" | "off"'],
    [{ anyOf: [{ type: 'string' }, { type: 'integer' }] }, 'string | number'],
    [{ type: 'array', items: { type: 'string' } }, 'Array<string>'],
    [{ type: 'array', prefixItems: [{ type: 'string' }, { type: 'string' }], items: false }, '[string, string]'],
    [{ type: 'object', properties: { a: { type: 'string' }, 'b-c': { type: 'null' } }, required: ['a'] }, '{ a: string; "b-c"?: null; }'],
    [{ type: 'object' }, 'Record<string, unknown>'],
    [{ $ref: '#/components/schemas/X' }, 'string'],
    [{}, 'unknown'],
  ])('%j → %s', (schema, expected) => {
    expect(ts(schema)).toBe(expected);
  });
});
