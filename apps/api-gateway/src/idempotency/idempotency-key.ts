import { createHash } from 'node:crypto';
import type { z } from 'zod';
import { IDEMPOTENCY_MISMATCH_MESSAGE } from '@ringcloud/contracts-common';
import { HttpProblem } from '../http/http-problem';
import { readV1Params } from '../http/json-body';

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
export const REPLAYED_HEADER = 'Idempotent-Replayed';

export const KEY_MESSAGE = 'Idempotency-Key must be 1 to 255 printable ASCII characters';
export const MISMATCH_MESSAGE = IDEMPOTENCY_MISMATCH_MESSAGE;
export const BUSY_MESSAGE = 'A request with this Idempotency-Key is still in progress: retry later';

/** The request's Idempotency-Key, undefined when absent; a malformed one is a 400. */
/** What a service keeps of a request's key to know a retry of it later: a digest, not the key. */
export function requestDigest(accountId: number, idempotencyKey: string): string {
  return createHash('sha256').update(`${accountId}\n${idempotencyKey}`).digest('hex');
}

export function readIdempotencyKey(headers: Record<string, string | string[] | undefined>): string | undefined {
  const raw = headers['idempotency-key'];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !/^[\x20-\x7e]{1,255}$/.test(raw) || raw.trim() === '') throw HttpProblem.badRequest(KEY_MESSAGE);
  return raw;
}

/**
 * What "the same params" means: the validated params (so `"num":"401"` and `"num":401` are the
 * same request), as JSON with sorted keys; a body that does not validate is compared as sent.
 */
export function paramsFingerprint(schema: z.ZodType | undefined, rawBody: unknown): string {
  let value: unknown;
  try {
    value = { valid: readV1Params(schema, rawBody) ?? null };
  } catch {
    value = { raw: typeof rawBody === 'string' ? rawBody : null };
  }
  return canonicalJson(value);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
