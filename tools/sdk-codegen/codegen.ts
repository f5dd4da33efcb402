/**
 * OpenAPI document → libs/sdk/src/generated/operations.ts: the SDK's operation table, its input and
 * result types (JSON Schema → TypeScript) and one method per served operation. Pure: no I/O, no
 * workspace imports, so it runs on the in-process document (npm run sdk:generate) and on a served one
 * (--from http://host/docs/openapi.json) alike.
 */

type Json = any;

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const key = (name: string) => (IDENT.test(name) ? name : JSON.stringify(name));
const literal = (value: unknown) => JSON.stringify(value);

export interface GeneratedOperation {
  id: string;
  methodName: string;
  method: string;
  path: string;
  aliases: string[];
  auth: 'key' | 'admin' | 'none';
  access?: string;
  pathParams: string[];
  query: Array<{ name: string; required: boolean; schema: Json; description?: string }>;
  headers: string[];
  body: 'params' | 'json' | 'none';
  bodyRequired: boolean;
  bodySchema?: Json;
  download: boolean;
  resultSchema?: Json;
  summary: string;
}

/** `users.update_extension_number` → `usersUpdateExtensionNumber`. */
export function methodNameOf(operationId: string): string {
  const words = operationId.split(/[._\-\s]+/).filter(Boolean);
  return words.map((w, i) => (i === 0 ? w.charAt(0).toLowerCase() + w.slice(1) : w.charAt(0).toUpperCase() + w.slice(1))).join('');
}

function resolve(doc: Json, schema: Json, seen = new Set<string>()): Json {
  if (schema && typeof schema === 'object' && typeof schema.$ref === 'string') {
    if (seen.has(schema.$ref)) return {};
    const match = /^#\/components\/(schemas|responses|parameters|headers)\/(.+)$/.exec(schema.$ref);
    const target = match ? doc.components?.[match[1]]?.[match[2]] : undefined;
    return target === undefined ? {} : resolve(doc, target, new Set([...seen, schema.$ref]));
  }
  return schema;
}

const indentOf = (depth: number) => '  '.repeat(depth);

/** JSON Schema (2020-12, as zod's toJSONSchema writes it) → a TypeScript type expression. */
export function schemaToTs(doc: Json, input: Json, depth = 0): string {
  const schema = resolve(doc, input);
  if (schema === true || schema === undefined || schema === null) return 'unknown';
  if (schema === false) return 'never';
  if (typeof schema !== 'object') return 'unknown';
  if ('const' in schema) return literal(schema.const);
  if (Array.isArray(schema.enum)) return schema.enum.map(literal).join(' | ') || 'never';
  for (const combinator of ['anyOf', 'oneOf'] as const) {
    if (Array.isArray(schema[combinator])) {
      const parts = [...new Set(schema[combinator].map((s: Json) => wrap(schemaToTs(doc, s, depth))))];
      return parts.join(' | ') || 'never';
    }
  }
  if (Array.isArray(schema.allOf)) return schema.allOf.map((s: Json) => wrap(schemaToTs(doc, s, depth))).join(' & ') || 'unknown';
  if (Array.isArray(schema.type)) {
    return [...new Set(schema.type.map((t: string) => wrap(schemaToTs(doc, { ...schema, type: t }, depth))))].join(' | ');
  }
  switch (schema.type) {
    case 'string':
      return 'string';
    case 'integer':
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'null':
      return 'null';
    case 'array': {
      if (Array.isArray(schema.prefixItems)) {
        const items = schema.prefixItems.map((s: Json) => schemaToTs(doc, s, depth));
        if (schema.items && schema.items !== false) items.push(`...${wrap(schemaToTs(doc, schema.items, depth))}[]`);
        return `[${items.join(', ')}]`;
      }
      return `Array<${schemaToTs(doc, schema.items ?? {}, depth)}>`;
    }
    case 'object':
      return objectToTs(doc, schema, depth);
    default:
      if (schema.properties) return objectToTs(doc, schema, depth);
      return 'unknown';
  }
}

const wrap = (type: string) => (/[|&]/.test(type) && !/^[[{(]/.test(type) && !/^Array</.test(type) ? `(${type})` : type);

function docComment(text: string | undefined, depth: number): string {
  if (!text) return '';
  const line = text.replace(/\s+/g, ' ').replace(/\*\//g, '*\\/').trim();
  return `${indentOf(depth)}/** ${line} */\n`;
}

function objectToTs(doc: Json, schema: Json, depth: number): string {
  const properties: Record<string, Json> = schema.properties ?? {};
  const required = new Set<string>(schema.required ?? []);
  const names = Object.keys(properties);
  const additional = schema.additionalProperties;
  if (names.length === 0) {
    if (additional === false) return 'Record<string, never>';
    if (additional && additional !== true) return `Record<string, ${schemaToTs(doc, additional, depth)}>`;
    return 'Record<string, unknown>';
  }
  const lines = names.map((name) => {
    const prop = resolve(doc, properties[name]);
    return `${docComment(prop?.description, depth + 1)}${indentOf(depth + 1)}${key(name)}${required.has(name) ? '' : '?'}: ${schemaToTs(doc, prop, depth + 1)};`;
  });
  if (additional && additional !== true) lines.push(`${indentOf(depth + 1)}[key: string]: unknown;`);
  return `{\n${lines.join('\n')}\n${indentOf(depth)}}`;
}

function authOf(op: Json): GeneratedOperation['auth'] {
  const schemes = (op.security ?? []).flatMap((s: Json) => Object.keys(s));
  if (schemes.includes('api_key')) return 'key';
  if (schemes.includes('admin_token')) return 'admin';
  return 'none';
}

/** The operations of a document, in its order; alias operations (`<id>.alias`) fold into their main one. */
export function readOperations(doc: Json): GeneratedOperation[] {
  const ops: GeneratedOperation[] = [];
  const aliases: Array<{ of: string; path: string }> = [];
  for (const [path, item] of Object.entries<Json>(doc.paths ?? {})) {
    for (const [method, raw] of Object.entries<Json>(item)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const op = resolve(doc, raw);
      const id: string = op.operationId ?? `${method} ${path}`;
      if (id.endsWith('.alias')) {
        aliases.push({ of: id.slice(0, -'.alias'.length), path });
        continue;
      }
      const parameters = [...(item.parameters ?? []), ...(op.parameters ?? [])].map((p: Json) => resolve(doc, p));
      const auth = authOf(op);
      const request = op.requestBody ? resolve(doc, op.requestBody) : undefined;
      const requestSchema = request ? resolve(doc, request.content?.['application/json']?.schema ?? {}) : undefined;
      const success = resolve(doc, op.responses?.['200'] ?? op.responses?.[200] ?? {});
      const json = success.content?.['application/json'];
      const download = !!success.content && !json;
      let resultSchema: Json | undefined;
      if (json) {
        const envelope = resolve(doc, json.schema ?? {});
        resultSchema = envelope?.properties?.data ?? (auth === 'none' ? {} : envelope);
      }
      const body: GeneratedOperation['body'] = !request ? 'none' : auth === 'key' ? 'params' : 'json';
      const bodySchema = body === 'params' ? (requestSchema?.properties?.params ?? {}) : requestSchema;
      ops.push({
        id,
        methodName: methodNameOf(id),
        method: method.toUpperCase(),
        path,
        aliases: [],
        auth,
        access: op['x-access'],
        pathParams: parameters.filter((p) => p.in === 'path').map((p) => p.name),
        query: parameters
          .filter((p) => p.in === 'query')
          .map((p) => ({ name: p.name, required: !!p.required, schema: p.schema ?? {}, description: p.description })),
        headers: parameters.filter((p) => p.in === 'header').map((p) => p.name),
        body,
        bodyRequired: !!request?.required,
        bodySchema,
        download,
        resultSchema,
        summary: op.summary ?? id,
      });
    }
  }
  for (const alias of aliases) {
    const main = ops.find((o) => o.id === alias.of);
    if (main) main.aliases.push(alias.path);
    else throw new Error(`alias of an unknown operation: ${alias.of} (${alias.path})`);
  }
  const names = new Map<string, string>();
  for (const op of ops) {
    const other = names.get(op.methodName);
    if (other) throw new Error(`operations ${other} and ${op.id} would both be the method ${op.methodName}`);
    names.set(op.methodName, op.id);
  }
  return ops;
}

function inputType(doc: Json, op: GeneratedOperation): { type: string; optional: boolean } {
  const members: string[] = [];
  let optional = true;
  if (op.pathParams.length) {
    optional = false;
    members.push(`path: { ${op.pathParams.map((p) => `${key(p)}: string | number`).join('; ')} };`);
  }
  if (op.query.length) {
    const anyRequired = op.query.some((q) => q.required);
    if (anyRequired) optional = false;
    const fields = op.query
      .map((q) => `${docComment(q.description, 3)}      ${key(q.name)}${q.required ? '' : '?'}: ${queryType(doc, q.schema)};`)
      .join('\n');
    members.push(`query${anyRequired ? '' : '?'}: {\n${fields}\n    };`);
  }
  if (op.body !== 'none') {
    const name = op.body === 'params' ? 'params' : 'body';
    if (op.bodyRequired) optional = false;
    members.push(`${name}${op.bodyRequired ? '' : '?'}: ${schemaToTs(doc, op.bodySchema, 2)};`);
  }
  return { type: members.length ? `{\n${members.map((m) => `    ${m}`).join('\n')}\n  }` : 'Record<string, never>', optional };
}

/** Query values travel as text: a number or boolean the schema allows is sent as its string. */
function queryType(doc: Json, schema: Json): string {
  const type = schemaToTs(doc, schema, 3);
  return type === 'string' ? 'string | number' : type;
}

function specLiteral(op: GeneratedOperation): string {
  const fields: string[] = [
    `method: ${literal(op.method)}`,
    `path: ${literal(op.path)}`,
    `aliases: ${literal(op.aliases)}`,
    `auth: ${literal(op.auth)}`,
    ...(op.access ? [`access: ${literal(op.access)}`] : []),
    `pathParams: ${literal(op.pathParams)}`,
    `query: ${literal(op.query.map((q) => q.name))}`,
    `body: ${literal(op.body)}`,
    `download: ${op.download}`,
    ...(op.headers.length ? [`headers: ${literal(op.headers)}`] : []),
  ];
  return `  ${literal(op.id)}: { ${fields.join(', ')} },`;
}

const accessText = (op: GeneratedOperation) =>
  op.auth === 'admin' ? 'operator API, adminToken' : op.auth === 'none' ? 'no credentials' : op.access === 'RW' ? 'RW key' : 'any key';

/** The whole generated module, deterministic for a given document. */
export function generateOperationsModule(doc: Json): string {
  const ops = readOperations(doc);
  const out: string[] = [];
  out.push(
    '/* eslint-disable */',
    '// GENERATED by `npm run sdk:generate` (tools/sdk-codegen) from the api-gateway\'s OpenAPI document',
    `// (${doc.info?.title ?? 'RingCloud API'} ${doc.info?.version ?? ''}). Do not edit by hand: a test compares this file with the document.`,
    "import type { DownloadedFile, OperationSpec, RequestOptions } from '../types.js';",
    '',
    '/** Every served operation: method, path template, authentication, parameters. */',
    'export const OPERATIONS = {',
    ...ops.map(specLiteral),
    '} as const satisfies Record<string, OperationSpec>;',
    '',
    'export type OperationId = keyof typeof OPERATIONS;',
    '',
    '/** Each operation\'s input (path, query, `params` or admin `body`) and result (the envelope\'s `data`). */',
    'export interface Operations {',
  );
  for (const op of ops) {
    const input = inputType(doc, op);
    const result = op.download ? 'DownloadedFile' : schemaToTs(doc, op.resultSchema ?? {}, 2);
    out.push(
      `  /** ${op.summary.replace(/\*\//g, '*\\/')} — \`${op.method} ${op.path}\` (${accessText(op)}). */`,
      `  ${literal(op.id)}: {`,
      `    input: ${input.type.replace(/\n/g, '\n  ')};`,
      `    result: ${result};`,
      '  };',
    );
  }
  out.push(
    '}',
    '',
    '/** The SDK method of each operation. */',
    'export const OPERATION_METHODS = {',
    ...ops.map((op) => `  ${literal(op.id)}: ${literal(op.methodName)},`),
    '} as const satisfies Record<OperationId, string>;',
    '',
    '/** One method per served operation; RingCloudClient implements `invoke` (credentials, envelope, errors, retries). */',
    'export abstract class GeneratedOperations {',
    '  protected abstract invoke<K extends OperationId>(',
    '    id: K,',
    "    input: Operations[K]['input'],",
    '    options?: RequestOptions,',
    "  ): Promise<Operations[K]['result']>;",
  );
  for (const op of ops) {
    const input = inputType(doc, op);
    const t = `Operations[${literal(op.id)}]`;
    out.push(
      '',
      `  /** ${op.summary.replace(/\*\//g, '*\\/')} — \`${op.method} ${op.path}\` (${accessText(op)}). */`,
      `  ${op.methodName}(input: ${t}['input']${input.optional ? ' = {}' : ''}, options?: RequestOptions): Promise<${t}['result']> {`,
      `    return this.invoke(${literal(op.id)}, input, options);`,
      '  }',
    );
  }
  out.push('}', '');
  return out.join('\n');
}
