import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { z } from 'zod';

const FORMAT = 'v1';

/**
 * Secrets a service must be able to read again (SIP passwords shown to RW keys, webhook signing
 * secrets), so they are encrypted, not hashed: AES-256-GCM, a random 96-bit IV per value, and an
 * owner id (user name, subscription id) as associated data so a ciphertext copied onto another
 * row does not decrypt. Stored as `v1:<iv>:<tag>:<ciphertext>` (base64 parts); the prefix leaves
 * room for key rotation. The key comes from the environment (SIP_SECRET_KEY, WEBHOOK_SECRET_KEY).
 */
export class SecretCipher {
  constructor(
    private readonly key: Buffer,
    /** Names the key in the error for a wrong length (e.g. "SIP secret key"). */
    what = 'secret key',
  ) {
    if (key.length !== 32) throw new Error(`${what} must be 32 bytes`);
  }

  encrypt(plaintext: string, owner: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(owner, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [FORMAT, iv.toString('base64'), cipher.getAuthTag().toString('base64'), ciphertext.toString('base64')].join(':');
  }

  decrypt(stored: string, owner: string): string {
    const [format, iv, tag, ciphertext] = stored.split(':');
    if (format !== FORMAT || !iv || !tag || ciphertext === undefined) throw new Error('unknown encrypted secret format');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64'));
    decipher.setAAD(Buffer.from(owner, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64')), decipher.final()]).toString('utf8');
  }
}

/** An AES-256 key from the environment: 32 bytes written as 64 hex characters or as base64. */
export const AesKey = z.string().transform((value, ctx) => {
  const key = /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64');
  if (key.length !== 32) {
    ctx.addIssue({ code: 'custom', message: 'must be 32 bytes: 64 hex characters or base64' });
    return z.NEVER;
  }
  return key;
});
