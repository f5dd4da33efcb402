/** Names whose values never reach a log: credentials, their hashes, and anything secret-looking. */
export const SECRET_KEYS = ['api_key', 'apikey', 'hash', 'password', 'passwd', 'token', 'secret', 'authorization', 'md5_cred'];

export const REDACTED = '[REDACTED]';

// `api_key=…` in query strings and `key: value` / `"key":"value"` in messages; the name may carry a
// prefix or suffix (admin_token, SIP_SECRET_KEY) — a false positive only hides a value.
const NAMES = `[\\w-]*(?:${SECRET_KEYS.join('|')})[\\w-]*`;
const QUERY_PAIR = new RegExp(`(\\b${NAMES}=)[^&\\s"';)]*`, 'gi');
const JSON_PAIR = new RegExp(`("${NAMES}"\\s*:\\s*)("(?:[^"\\\\]|\\\\.)*"|[^,}\\s]+)`, 'gi');
const HEADER_PAIR = new RegExp(`(\\b${NAMES}\\s*:\\s*)(?:Bearer\\s+|Basic\\s+)?[^\\s,;}]+`, 'gi');
const SECRET_NAME = new RegExp(`^${NAMES}$`, 'i');

/** Replaces secret values inside free text (log messages, URLs, stack traces). */
export function redactText(text: string): string {
  return text
    .replace(QUERY_PAIR, `$1${REDACTED}`)
    .replace(JSON_PAIR, `$1"${REDACTED}"`)
    .replace(HEADER_PAIR, `$1${REDACTED}`);
}

/** A deep copy of `value` with secret-named fields and secrets inside strings redacted. */
export function redactValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object' || depth > 6) return value;
  if (value instanceof Error) return { name: value.name, message: redactText(value.message), stack: value.stack && redactText(value.stack) };
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, SECRET_NAME.test(k) ? REDACTED : redactValue(v, depth + 1)]),
  );
}
