import { randomBytes } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/** `<prefix>_` + 26 random base32 characters (130 bits). */
export function randomId(prefix: 'wh' | 'dlv'): string {
  const bytes = randomBytes(26);
  let out = '';
  for (const byte of bytes) out += ALPHABET[byte & 31];
  return `${prefix}_${out}`;
}

/** A new signing secret: `whsec_` + base64 of 24 random bytes (Standard Webhooks). */
export function newSigningSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}
