import { z } from 'zod';
import { RateLimit } from '../config';
import { openApiPath } from '../routing/router';
import { PATH_PARAMS, V1Route } from '../v1/routes';
import { ADMIN_PATH_PARAMS, AdminRoute } from '../admin/admin.routes';

type Json = Record<string, unknown>;

/** zod 4 → JSON Schema 2020-12 (OpenAPI 3.1's dialect); refinements are not representable and are described in text. */
function schemaOf(schema: z.ZodType, io: 'input' | 'output'): Json {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Json;
  return rest;
}

const ref = (name: string, kind: 'schemas' | 'responses' | 'headers') => ({ $ref: `#/components/${kind}/${name}` });

const successEnvelope = (data: Json): Json => ({
  type: 'object',
  required: ['status', 'message', 'data'],
  properties: { status: { const: 'success' }, message: { type: 'null' }, data },
});

const DECISIONS = `
RingCloud API v1: the REST contract existing CRM integrations speak (see the product spec), served by
the api-gateway. Every JSON answer is the envelope \`{"status":"success","message":null,"data":…}\` or
\`{"status":"error","message":"…","data":null}\`.

## Authentication
Every v1 request carries \`?api_key=API_KEY&hash=HASH\` where \`HASH = lowercase hex md5(API_KEY + PASSWORD)\`.
403 texts: \`API key is not specified\`, \`Hash is not specified\`, \`API key does not exist\`, \`Invalid hash\`,
\`API key is disabled\`, \`API key is read-only\` (a RO key on a POST). RO keys see \`password: null\` in user objects.

## Order of checks
route (404 unknown URL, 405 known URL with another method, with \`Allow\`) → authentication (403) → access (403)
→ rate limit (429) → path and body (404 / 400) → the function. An unauthenticated request never learns more than 403.

## Rate limits
At most \`q\` requests per \`w\` seconds **per API key and exact URL**: method + decoded path + query string
without \`api_key\`/\`hash\`, parameters sorted. \`/v1/calls/channels/PJSIP/x\` and \`PJSIP%2Fx\` are the same URL;
\`/v1/calls/complite\` counts as \`/v1/calls/complete\`. Limited answers carry IETF headers
\`RateLimit-Policy: "<id>";q=<requests>;w=<seconds>\` and \`RateLimit: "<id>";r=<remaining>;t=<seconds to reset>\`;
429 carries \`Retry-After\`. The limits shown per operation (\`x-rate-limit\`) are those in force on this server.

## Decisions the spec leaves open
- **Body**: JSON \`{"params": {...}}\` with any Content-Type or none (x-www-form-urlencoded is read as JSON text).
  Bodies over the size limit → 413 \`Request body is too large\`; malformed JSON → 400 \`Malformed JSON body\`;
  one leading UTF-8 BOM is skipped; a NUL (\`\\u0000\`) in any string or key → 400 \`<field> must not contain NUL characters\`;
  \`voice_mail_box_on\`/\`_off\` accept an empty body.
- **Digit fields** (\`num\`): a string of digits, or a whole JSON number (PHP clients send numbers); answered as strings.
- **Disabled keys**: \`API key is disabled\` is told only to a caller whose hash is right (it knows the password);
  with a wrong hash the answer is \`Invalid hash\`.
- **Path segments**: repeated slashes count as one and a trailing slash is ignored (as nginx merges them: \`//v1/users/…\` is \`/v1/users/…\`); \`.\`, \`..\` and undecodable escapes answer 404.
  A user name that is not a numeric user name → 404 \`User not found\` (as for another account's user).
- **Methods**: only the route's own method; anything else (including HEAD and OPTIONS) → 405 with \`Allow\`.
- **Unavailable backends** → 503 with \`Retry-After\` (never 500). Call and recording functions answer 503
  \`Calls are not available yet\` until the calls service is deployed (after authentication and rate limiting).
- **Recording download**: the file on success; on failure the error status with an empty body (v1 behaviour).
- **Pagination** (lists that document \`limit\`/\`cursor\`): \`limit\` 1–1000 answers one page in the list's order; the next page's
  cursor (opaque) is in the \`X-Next-Cursor\` header, absent on the last page; pass it back unchanged with the same \`limit\`.
  Without \`limit\` the answer is the whole v1 list. A bad \`limit\` or \`cursor\`, or a \`cursor\` without \`limit\` → 400.
- **Idempotency-Key** (on functions that document it: \`POST /v1/calls\`, \`POST /v1/users/create\`): the same key
  (per account and function) with the same params within 24 h answers the first answer again — status, body and
  headers such as \`X-Call-Id\` — with \`Idempotent-Replayed: true\`, without running the function again and without
  counting against the rate limit. A duplicate sent while the first is running waits for it (409 after 30 s).
  The same key with other params → 400. Only successes are kept: after any error the same key runs again.
  Redis unavailable → 503 and nothing runs. Ignored on other functions.
- **X-Request-Id**: kept when the client sends a sane token (\`[A-Za-z0-9._:@-]{1,128}\`), else generated; always echoed.
- **Admin API** (\`/admin/v1\`): account, key and inbound number (DID) management for the platform operator ("personal cabinet" back end),
  \`Authorization: Bearer <ADMIN_TOKEN>\`; disabled (403 \`Admin API is disabled\`) when the server has no token.
  Plain JSON bodies (no \`params\` wrapper), the same envelope, not rate limited.
`.trim();

const ERROR_RESPONSES: Record<string, { description: string; headers?: string[] }> = {
  BadRequest: { description: 'Bad parameters or malformed JSON.' },
  Forbidden: { description: 'Authentication or access refused (see the 403 texts above).' },
  NotFound: { description: 'Unknown URL, or unknown/foreign user, channel or recording in the path.' },
  MethodNotAllowed: { description: 'Known URL, other method.', headers: ['Allow'] },
  IdempotencyInProgress: { description: 'A request with the same Idempotency-Key is still running after 30 s of waiting for it.', headers: ['Retry-After'] },
  PayloadTooLarge: { description: 'Body over the size limit.' },
  TooManyRequests: { description: 'Rate limit exceeded.', headers: ['Retry-After', 'RateLimit', 'RateLimit-Policy'] },
  Unavailable: { description: 'A backend (NATS, a service, Redis, the PBX) is unavailable.', headers: ['Retry-After'] },
  InternalError: { description: 'A bug: never expected.' },
};

const HEADERS: Record<string, { description: string; schema: Json }> = {
  'X-Request-Id': { description: 'Request id (the client\'s if sane, else generated).', schema: { type: 'string' } },
  Allow: { description: 'The method this URL accepts.', schema: { type: 'string' } },
  'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer', minimum: 1 } },
  RateLimit: { description: '`"<limit id>";r=<remaining>;t=<seconds to reset>`', schema: { type: 'string' } },
  'RateLimit-Policy': { description: '`"<limit id>";q=<requests>;w=<window seconds>`', schema: { type: 'string' } },
};

const errorResponse = (name: string): Json => ref(name, 'responses');

const tagOf = (routeId: string) => (routeId.startsWith('users.records') ? 'recordings' : routeId.split('.')[0]);

function pathParameters(path: string, rules: typeof PATH_PARAMS): Json[] {
  return [...path.matchAll(/<([a-z_]+)(?:\.\.\.)?>/g)].map(([, name]) => ({
    name,
    in: 'path',
    required: true,
    description: rules[name]?.description,
    schema: rules[name] ? schemaOf(rules[name].schema, 'input') : { type: 'string' },
  }));
}

function v1Operation(route: V1Route, limit: RateLimit, alias: boolean): Json {
  const limited: Json = {
    RateLimit: ref('RateLimit', 'headers'),
    'RateLimit-Policy': ref('RateLimit-Policy', 'headers'),
    'X-Request-Id': ref('X-Request-Id', 'headers'),
    ...Object.fromEntries(
      (route.responseHeaders ?? []).map((h) => [h.name, { description: h.description, schema: h.schema ?? { type: 'string' } }]),
    ),
    ...(route.idempotent
      ? { 'Idempotent-Replayed': { description: '`true` when this is the kept answer of an earlier request with the same `Idempotency-Key`.', schema: { const: 'true' } } }
      : {}),
  };
  const success: Json = route.fileDownload
    ? {
        description: 'The recording file (Content-Disposition: attachment). Errors of this URL have an empty body.',
        headers: limited,
        content: { 'audio/wav': { schema: { type: 'string', contentMediaType: 'audio/wav' } } },
      }
    : {
        description: 'Success.',
        headers: limited,
        content: { 'application/json': { schema: successEnvelope(schemaOf(route.response, 'output')) } },
      };
  const op: Json = {
    operationId: alias ? `${route.id}.alias` : route.id,
    tags: [tagOf(route.id)],
    summary: alias ? `${route.summary} (alias)` : route.summary,
    description: [
      route.description,
      `Rate limit: ${limit.requests} request(s) per ${limit.per_seconds} s per API key and exact URL (limit id \`${route.id}\`).`,
      route.access === 'RW' ? 'Needs a read-write (RW) key.' : 'Any key (RO or RW).',
    ]
      .filter(Boolean)
      .join('\n\n'),
    security: [{ api_key: [], hash: [] }],
    'x-rate-limit': { id: route.id, requests: limit.requests, per_seconds: limit.per_seconds },
    'x-access': route.access,
    parameters: [
      ...pathParameters(route.path, PATH_PARAMS),
      ...(route.query ?? []).map((q) => ({ name: q.name, in: 'query', required: false, description: q.description, schema: q.schema })),
      ...(route.idempotent
        ? [
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              description:
                'Any unique string (1–255 printable ASCII characters), e.g. a UUID. The same key with the same params within 24 h ' +
                'answers the first answer again (`Idempotent-Replayed: true`) without running the function twice; with other params → 400.',
              schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x20-\\x7e]+$' },
            },
          ]
        : []),
    ],
    responses: {
      200: success,
      400: errorResponse('BadRequest'),
      403: errorResponse('Forbidden'),
      404: errorResponse('NotFound'),
      405: errorResponse('MethodNotAllowed'),
      ...(route.idempotent ? { 409: errorResponse('IdempotencyInProgress') } : {}),
      ...(route.method === 'POST' ? { 413: errorResponse('PayloadTooLarge') } : {}),
      429: errorResponse('TooManyRequests'),
      500: errorResponse('InternalError'),
      503: errorResponse('Unavailable'),
    },
  };
  if (route.method === 'POST') {
    const params = route.params ? schemaOf(route.params, 'input') : { type: 'object', description: 'No params: the body may be empty.' };
    op.requestBody = {
      required: !!route.params,
      description: 'JSON, sent with any Content-Type (or none).',
      content: {
        'application/json': {
          schema: { type: 'object', properties: { params }, ...(route.params ? { required: ['params'] } : {}) },
        },
      },
    };
  }
  return op;
}

/** An admin route's query schema (a zod object of string parameters) as OpenAPI query parameters. */
function queryParameters(query: AdminRoute['query']): Json[] {
  if (!query) return [];
  return Object.entries(query.shape).map(([name, field]) => {
    const { description, ...schema } = schemaOf(field as z.ZodType, 'input');
    return { name, in: 'query', required: !(field as z.ZodType).safeParse(undefined).success, description, schema };
  });
}

function adminOperation(route: AdminRoute): Json {
  const op: Json = {
    operationId: route.id,
    tags: ['admin'],
    summary: route.summary,
    description: route.description,
    security: [{ admin_token: [] }],
    parameters: [...pathParameters(route.path, ADMIN_PATH_PARAMS), ...queryParameters(route.query)],
    responses: {
      200: {
        description: 'Success.',
        content: { 'application/json': { schema: successEnvelope(schemaOf(route.response, 'output')) } },
      },
      400: errorResponse('BadRequest'),
      403: errorResponse('Forbidden'),
      404: errorResponse('NotFound'),
      405: errorResponse('MethodNotAllowed'),
      413: errorResponse('PayloadTooLarge'),
      500: errorResponse('InternalError'),
      503: errorResponse('Unavailable'),
    },
  };
  if (route.body) {
    op.requestBody = { required: true, content: { 'application/json': { schema: schemaOf(route.body, 'input') } } };
  }
  return op;
}

const plainGet = (summary: string, description: string, tag: string): Json => ({
  get: {
    operationId: summary,
    tags: [tag],
    summary,
    description,
    responses: {
      200: { description: 'OK', content: { 'application/json': { schema: ref('SuccessEnvelope', 'schemas') } } },
      ...(summary === 'readyz' ? { 503: errorResponse('Unavailable') } : {}),
    },
  },
});

/** The OpenAPI 3.1 document: built from the route tables and the contracts' zod schemas, with the limits in force. */
export function buildOpenApiDocument(
  v1Routes: readonly V1Route[],
  adminRoutes: readonly AdminRoute[],
  limits: ReadonlyMap<string, RateLimit>,
): Json {
  const paths: Record<string, Json> = {};
  const add = (path: string, method: string, op: Json) => {
    (paths[openApiPath(path)] ??= {})[method.toLowerCase()] = op;
  };
  for (const route of v1Routes) {
    const limit = limits.get(route.id) ?? route.limit;
    add(route.path, route.method, v1Operation(route, limit, false));
    for (const alias of route.aliases ?? []) add(alias, route.method, v1Operation(route, limit, true));
  }
  for (const route of adminRoutes) add(route.path, route.method, adminOperation(route));
  paths['/healthz'] = plainGet('healthz', 'Liveness: the process answers (no dependency is checked).', 'health');
  paths['/readyz'] = plainGet('readyz', 'Readiness: NATS connected, Redis answers PING, users-service answers within 1 s.', 'health');

  const responses: Record<string, Json> = {};
  for (const [name, { description, headers }] of Object.entries(ERROR_RESPONSES)) {
    responses[name] = {
      description,
      headers: Object.fromEntries((headers ?? []).map((h) => [h, ref(h, 'headers')])),
      content: { 'application/json': { schema: ref('ErrorEnvelope', 'schemas') } },
    };
  }

  return {
    openapi: '3.1.0',
    info: { title: 'RingCloud API', version: '1.0.0', description: DECISIONS },
    servers: [{ url: '/' }],
    tags: [
      { name: 'users', description: 'Employees and their SIP accounts.' },
      { name: 'calls', description: 'Calls and live channels.' },
      { name: 'recordings', description: 'Call recordings.' },
      { name: 'keys', description: "The account owner's API keys (v1 extension, RW keys, own account only)." },
      { name: 'webhooks', description: 'Webhook subscriptions and their deliveries (signed Standard Webhooks).' },
      { name: 'events', description: 'The event feed: the last 7 days of call and user events.' },
      { name: 'admin', description: 'Accounts, API keys and inbound numbers (operator API).' },
      { name: 'health', description: 'Liveness and readiness.' },
    ],
    components: {
      securitySchemes: {
        api_key: { type: 'apiKey', in: 'query', name: 'api_key', description: 'The API key, e.g. `1001_a1b2c3d4`.' },
        hash: { type: 'apiKey', in: 'query', name: 'hash', description: 'Lowercase hex md5(api_key + password).' },
        admin_token: { type: 'http', scheme: 'bearer', description: 'The server\'s ADMIN_TOKEN.' },
      },
      schemas: {
        SuccessEnvelope: successEnvelope({}),
        ErrorEnvelope: {
          type: 'object',
          required: ['status', 'message', 'data'],
          properties: { status: { const: 'error' }, message: { type: 'string' }, data: { type: 'null' } },
        },
      },
      headers: HEADERS,
      responses,
    },
    paths,
  };
}
