import { z } from 'zod';
import { firstIssueMessage } from '@ringcloud/contracts-common';
import { HttpProblem } from './http-problem';

/** One leading byte order mark is allowed (some clients write UTF-8 with it); it is not JSON. */
const BOM = '\uFEFF';

/**
 * The raw body (a string, whatever the Content-Type: see raw-body.ts) parsed as JSON; undefined when
 * the body is empty or only whitespace. Parsing happens in the pipeline, after authentication.
 */
export function parseJsonBody(raw: unknown): unknown {
  if (typeof raw !== 'string') return undefined;
  const text = raw.startsWith(BOM) ? raw.slice(BOM.length) : raw;
  if (text.trim() === '') return undefined;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw HttpProblem.badRequest('Malformed JSON body');
  }
  refuseNul(body);
  return body;
}

/**
 * PostgreSQL cannot store U+0000 in text, so no field may carry one: refused here, once, for every
 * body (a 400 naming the field) rather than by each contract or as a database error. Walks with its
 * own stack: a deeply nested body must not overflow the call stack.
 */
export function refuseNul(body: unknown): void {
  const pending: Array<{ value: unknown; path: string }> = [{ value: body, path: '' }];
  while (pending.length) {
    const { value, path } = pending.pop()!;
    if (typeof value === 'string' && value.includes('\u0000')) throw nulProblem(path || 'the body');
    if (typeof value !== 'object' || value === null) continue;
    for (const [key, item] of Object.entries(value)) {
      if (key.includes('\u0000')) throw nulProblem(`a key of ${path || 'the body'}`);
      pending.push({ value: item, path: Array.isArray(value) ? `${path}[${key}]` : path ? `${path}.${key}` : key });
    }
  }
}

const nulProblem = (where: string) => HttpProblem.badRequest(`${where} must not contain NUL characters`);

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * v1 bodies are `{"params": {...}}`. Routes without a params schema accept an empty body (and
 * ignore a well-formed one); the others need the object and validate it with the contract's schema.
 */
export function readV1Params(schema: z.ZodType | undefined, raw: unknown): unknown {
  const body = parseJsonBody(raw);
  if (!schema) return undefined;
  if (body === undefined) throw HttpProblem.badRequest('params is required');
  if (!isPlainObject(body)) throw HttpProblem.badRequest('Body must be a JSON object of the form {"params": {...}}');
  if (body.params === undefined) throw HttpProblem.badRequest('params is required');
  if (!isPlainObject(body.params)) throw HttpProblem.badRequest('params must be an object');
  return validate(schema, body.params);
}

/** Admin bodies are plain JSON objects (no `params` wrapper); an empty body counts as `{}`. */
export function readPlainBody(schema: z.ZodType, raw: unknown): unknown {
  const body = parseJsonBody(raw) ?? {};
  if (!isPlainObject(body)) throw HttpProblem.badRequest('Body must be a JSON object');
  return validate(schema, body);
}

/**
 * Query parameters as an object of strings, validated by `schema` (a strict object refuses unknown
 * ones). Empty values count as absent; a parameter given twice is refused rather than guessed.
 */
export function readQuery(schema: z.ZodType, query: URLSearchParams): unknown {
  const values: Record<string, string> = {};
  const seen = new Set<string>();
  for (const [name, value] of query) {
    if (name.includes('\u0000') || value.includes('\u0000')) throw nulProblem(`parameter ${name.replace(/\u0000/g, '')}`);
    if (seen.has(name)) throw HttpProblem.badRequest(`parameter ${name} is given more than once`);
    seen.add(name);
    if (value !== '') values[name] = value;
  }
  return validate(schema, values);
}

/**
 * Refuses (400) any of `names` given more than once, as readQuery does: which one was meant would be
 * a guess (the first? PHP's last?). For v1 lists that read their few parameters themselves.
 */
export function refuseRepeated(query: URLSearchParams, names: readonly string[]): void {
  for (const name of names) if (query.getAll(name).length > 1) throw HttpProblem.badRequest(`parameter ${name} is given more than once`);
}

function validate(schema: z.ZodType, value: unknown): unknown {
  const result = schema.safeParse(value);
  if (!result.success) throw HttpProblem.badRequest(firstIssueMessage(result.error));
  return result.data;
}
