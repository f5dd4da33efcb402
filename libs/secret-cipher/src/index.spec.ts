import { AesKey, SecretCipher } from './index';

describe('SecretCipher', () => {
  const cipher = new SecretCipher(Buffer.alloc(32, 1));

  it('round-trips, with a random IV per value and nothing of the plaintext visible', () => {
    const a = cipher.encrypt('whsec_c2VjcmV0', 'wh_1');
    const b = cipher.encrypt('whsec_c2VjcmV0', 'wh_1');
    expect(a).not.toBe(b);
    expect(a).not.toContain('whsec');
    expect(cipher.decrypt(a, 'wh_1')).toBe('whsec_c2VjcmV0');
    expect(cipher.decrypt(b, 'wh_1')).toBe('whsec_c2VjcmV0');
  });

  it('refuses a ciphertext moved to another owner, tampered, malformed, or under another key', () => {
    const stored = cipher.encrypt('secret', 'wh_1');
    expect(() => cipher.decrypt(stored, 'wh_2')).toThrow();
    const [v, iv, tag, data] = stored.split(':');
    const flipped = Buffer.from(data, 'base64');
    flipped[0] ^= 1;
    expect(() => cipher.decrypt([v, iv, tag, flipped.toString('base64')].join(':'), 'wh_1')).toThrow();
    expect(() => cipher.decrypt('v0:a:b:c', 'wh_1')).toThrow(/format/);
    expect(() => new SecretCipher(Buffer.alloc(32, 2)).decrypt(stored, 'wh_1')).toThrow();
  });

  it('needs a 32-byte key and names it', () => {
    expect(() => new SecretCipher(Buffer.alloc(16), 'webhook secret key')).toThrow('webhook secret key must be 32 bytes');
  });
});

describe('AesKey', () => {
  it('reads 64 hex characters or base64 of 32 bytes', () => {
    expect(AesKey.parse('11'.repeat(32))).toEqual(Buffer.alloc(32, 0x11));
    expect(AesKey.parse(Buffer.alloc(32, 7).toString('base64'))).toEqual(Buffer.alloc(32, 7));
    expect(AesKey.safeParse('abcd').success).toBe(false);
  });
});
