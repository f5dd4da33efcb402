import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { randomAlphanumeric } from './random';

/** What is stored for a key's password: never the password, never the v1 hash. */
export interface StoredSecret {
  salt: string;
  secretDigest: string;
}

const MD5_HEX = /^[0-9a-f]{32}$/;

/**
 * API key secrets. v1 clients authenticate with hash = md5(api_key + password), so that
 * "expected hash" is what must be checkable; it is kept only as
 * HMAC-SHA256(pepper, salt + expected_hash): a leaked table alone lets nobody sign requests.
 */
export class ApiKeySecrets {
  constructor(private readonly pepper: string) {}

  newApiKey(accountId: number): string {
    return `${accountId}_${randomAlphanumeric(24)}`;
  }

  newPassword(): string {
    return randomAlphanumeric(24);
  }

  /** The v1 request hash: lowercase hex md5(api_key + password). */
  static v1Hash(apiKey: string, password: string): string {
    return createHash('md5').update(apiKey + password, 'utf8').digest('hex');
  }

  protect(apiKey: string, password: string): StoredSecret {
    const salt = randomBytes(16).toString('hex');
    return { salt, secretDigest: this.digest(salt, ApiKeySecrets.v1Hash(apiKey, password)) };
  }

  /** Whether a presented v1 hash (any letter case) is the one this secret was made from. */
  matches(stored: StoredSecret, presentedHash: string): boolean {
    const hash = presentedHash.toLowerCase();
    if (!MD5_HEX.test(hash)) return false;
    const expected = Buffer.from(stored.secretDigest, 'hex');
    const actual = Buffer.from(this.digest(stored.salt, hash), 'hex');
    return expected.length === actual.length && timingSafeEqual(expected, actual);
  }

  private digest(salt: string, v1Hash: string): string {
    return createHmac('sha256', this.pepper).update(salt + v1Hash, 'utf8').digest('hex');
  }
}
