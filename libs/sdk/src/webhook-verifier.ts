import { createHmac, timingSafeEqual } from 'node:crypto';
import { WebhookVerificationError } from './errors.js';
import type { CrmEvent } from './types.js';

/**
 * Verifies webhook deliveries for a receiver (Standard Webhooks, https://www.standardwebhooks.com):
 * the signed content is `webhook-id.webhook-timestamp.body`, the signature base64 HMAC-SHA256 with the
 * secret's bytes (`whsec_<base64>`), and `webhook-signature` holds one or more space-separated
 * `v1,<signature>` entries (two while a rotated secret is still valid). Comparisons are constant-time.
 */

export type HeaderSource =
  | Headers
  | Record<string, string | string[] | undefined>
  | { get(name: string): string | null };

export interface WebhookVerifyOptions {
  /** How far `webhook-timestamp` may be from now, in seconds. Default 300 (as the standard's libraries). */
  toleranceSeconds?: number;
  /** The clock, in ms (tests). */
  now?: () => number;
}

export interface VerifiedWebhook<T = CrmEvent> {
  /** `webhook-id`: the event id, the same on every retry (de-duplicate on it). */
  id: string;
  /** `webhook-timestamp` as a Date. */
  timestamp: Date;
  /** The parsed body. */
  payload: T;
}

const PREFIX = 'whsec_';

function secretBytes(secret: string | Uint8Array): Buffer {
  if (typeof secret !== 'string') return Buffer.from(secret);
  const base64 = secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret;
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.length === 0) throw new TypeError('webhook secret is empty or not base64 (expected whsec_<base64>)');
  return bytes;
}

function header(headers: HeaderSource, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const record = headers as Record<string, string | string[] | undefined>;
  const key = Object.keys(record).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : record[key];
  return Array.isArray(value) ? value.join(' ') : value;
}

/** `v1,<base64 HMAC-SHA256(secret, id.timestamp.body)>` — for tests and for anyone who sends our format. */
export function signWebhook(secret: string | Uint8Array, id: string, timestamp: number | Date, body: string | Uint8Array): string {
  const seconds = typeof timestamp === 'number' ? Math.floor(timestamp) : Math.floor(timestamp.getTime() / 1000);
  const mac = createHmac('sha256', secretBytes(secret));
  mac.update(`${id}.${seconds}.`, 'utf8');
  mac.update(typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
  return `v1,${mac.digest('base64')}`;
}

export class WebhookVerifier {
  private readonly keys: Buffer[];
  private readonly toleranceSeconds: number;
  private readonly now: () => number;

  /** One secret, or several (the old and the new one while you roll a rotated secret out). */
  constructor(secrets: string | Uint8Array | ReadonlyArray<string | Uint8Array>, options: WebhookVerifyOptions = {}) {
    const list = Array.isArray(secrets) ? secrets : [secrets as string | Uint8Array];
    if (list.length === 0) throw new TypeError('at least one webhook secret is required');
    this.keys = list.map(secretBytes);
    this.toleranceSeconds = options.toleranceSeconds ?? 300;
    this.now = options.now ?? Date.now;
  }

  /**
   * Checks a delivery and returns its parsed body. `body` must be the raw body exactly as received
   * (a re-serialised JSON object would not match). Throws WebhookVerificationError otherwise.
   */
  verify<T = CrmEvent>(body: string | Uint8Array, headers: HeaderSource): VerifiedWebhook<T> {
    const id = header(headers, 'webhook-id');
    const timestamp = header(headers, 'webhook-timestamp');
    const signatures = header(headers, 'webhook-signature');
    if (!id || !timestamp || !signatures) throw new WebhookVerificationError('Missing required headers');
    if (!/^\d{1,12}$/.test(timestamp.trim())) throw new WebhookVerificationError('Invalid Signature Headers');
    const seconds = Number(timestamp.trim());
    const nowSeconds = Math.floor(this.now() / 1000);
    if (nowSeconds - seconds > this.toleranceSeconds) throw new WebhookVerificationError('Message timestamp too old');
    if (seconds - nowSeconds > this.toleranceSeconds) throw new WebhookVerificationError('Message timestamp too new');

    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body);
    const expected = this.keys.map((key) => Buffer.from(signWebhook(key, id, seconds, bytes).slice(3), 'base64'));
    let matched = false;
    for (const entry of signatures.split(' ')) {
      const comma = entry.indexOf(',');
      if (comma < 0 || entry.slice(0, comma) !== 'v1') continue;
      const given = Buffer.from(entry.slice(comma + 1), 'base64');
      // Every candidate is compared (no early exit on a match) so timing says nothing about which.
      for (const candidate of expected) {
        if (given.length === candidate.length && timingSafeEqual(given, candidate)) matched = true;
      }
    }
    if (!matched) throw new WebhookVerificationError('No matching signature found');

    let payload: T;
    try {
      payload = JSON.parse(bytes.toString('utf8')) as T;
    } catch {
      throw new WebhookVerificationError('Body is not JSON');
    }
    return { id, timestamp: new Date(seconds * 1000), payload };
  }
}

/** One-shot form of `new WebhookVerifier(secret, options).verify(body, headers)`. */
export function verifyWebhook<T = CrmEvent>(
  secret: string | Uint8Array | ReadonlyArray<string | Uint8Array>,
  body: string | Uint8Array,
  headers: HeaderSource,
  options?: WebhookVerifyOptions,
): VerifiedWebhook<T> {
  return new WebhookVerifier(secret, options).verify<T>(body, headers);
}
