import { randomInt } from 'node:crypto';

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** `length` characters of [A-Za-z0-9] from the CSPRNG, without modulo bias (randomInt). */
export function randomAlphanumeric(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return out;
}

/** A platform-wide SIP user name: 10 random digits, never starting with 0 (like "1679728441"). */
export function randomUserName(): string {
  let out = String(randomInt(1, 10));
  for (let i = 0; i < 9; i++) out += String(randomInt(10));
  return out;
}
