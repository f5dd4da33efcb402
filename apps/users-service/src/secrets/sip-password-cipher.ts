import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const FORMAT = 'v1';

/**
 * SIP passwords must be readable again (v1 returns them to RW keys), so they are encrypted, not
 * hashed: AES-256-GCM, a random 96-bit IV per value, and the user name as associated data so a
 * ciphertext copied onto another user's row does not decrypt.
 * Stored as `v1:<iv>:<tag>:<ciphertext>` (base64 parts); the prefix leaves room for key rotation.
 */
export class SipPasswordCipher {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('SIP secret key must be 32 bytes');
  }

  encrypt(password: string, userName: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(userName, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(password, 'utf8'), cipher.final()]);
    return [FORMAT, iv.toString('base64'), cipher.getAuthTag().toString('base64'), ciphertext.toString('base64')].join(':');
  }

  decrypt(stored: string, userName: string): string {
    const [format, iv, tag, ciphertext] = stored.split(':');
    if (format !== FORMAT || !iv || !tag || ciphertext === undefined) throw new Error('unknown SIP password format');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64'));
    decipher.setAAD(Buffer.from(userName, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64')), decipher.final()]).toString('utf8');
  }
}
