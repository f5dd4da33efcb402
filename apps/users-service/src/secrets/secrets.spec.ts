import { ApiKeySecrets } from './api-key-secrets';
import { randomAlphanumeric, randomUserName } from './random';
import { SipPasswordCipher } from './sip-password-cipher';

describe('ApiKeySecrets', () => {
  const secrets = new ApiKeySecrets('pepper-for-unit-tests');

  it('makes keys <account>_<24 alphanumerics> and 24-character alphanumeric passwords, all different', () => {
    const keys = new Set(Array.from({ length: 50 }, () => secrets.newApiKey(1001)));
    expect(keys.size).toBe(50);
    for (const key of keys) expect(key).toMatch(/^1001_[A-Za-z0-9]{24}$/);
    expect(secrets.newPassword()).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(secrets.newPassword()).not.toBe(secrets.newPassword());
  });

  it('computes the v1 hash as lowercase hex md5(api_key + password)', () => {
    // md5("1001_a1b2c3s3cret") from the v1 spec's example.
    expect(ApiKeySecrets.v1Hash('1001_a1b2c3', 's3cret')).toBe(require('node:crypto').createHash('md5').update('1001_a1b2c3s3cret').digest('hex'));
    expect(ApiKeySecrets.v1Hash('1001_a1b2c3', 's3cret')).toMatch(/^[0-9a-f]{32}$/);
  });

  it('matches the right hash in any letter case and nothing else', () => {
    const key = secrets.newApiKey(7);
    const password = secrets.newPassword();
    const stored = secrets.protect(key, password);
    const hash = ApiKeySecrets.v1Hash(key, password);
    expect(secrets.matches(stored, hash)).toBe(true);
    expect(secrets.matches(stored, hash.toUpperCase())).toBe(true);
    expect(secrets.matches(stored, ApiKeySecrets.v1Hash(key, `${password}x`))).toBe(false);
    expect(secrets.matches(stored, '')).toBe(false);
    expect(secrets.matches(stored, 'z'.repeat(32))).toBe(false);
    expect(secrets.matches(stored, password)).toBe(false);
  });

  it('stores neither the hash nor the password, salted so equal secrets differ', () => {
    const key = secrets.newApiKey(7);
    const password = secrets.newPassword();
    const hash = ApiKeySecrets.v1Hash(key, password);
    const a = secrets.protect(key, password);
    const b = secrets.protect(key, password);
    for (const stored of [a, b]) {
      expect(stored.salt).toMatch(/^[0-9a-f]{32}$/);
      expect(stored.secretDigest).toMatch(/^[0-9a-f]{64}$/);
      for (const secret of [hash, password]) {
        expect(stored.secretDigest).not.toContain(secret);
        expect(stored.salt).not.toContain(secret);
      }
    }
    expect(a.secretDigest).not.toBe(b.secretDigest);
  });

  it('depends on the pepper: another pepper does not accept the same hash', () => {
    const key = secrets.newApiKey(7);
    const password = secrets.newPassword();
    const stored = secrets.protect(key, password);
    expect(new ApiKeySecrets('another-pepper-value').matches(stored, ApiKeySecrets.v1Hash(key, password))).toBe(false);
  });
});

describe('random names', () => {
  it('draws 10-digit user names that never start with 0', () => {
    const names = Array.from({ length: 500 }, randomUserName);
    for (const name of names) expect(name).toMatch(/^[1-9][0-9]{9}$/);
    expect(new Set(names).size).toBeGreaterThan(495);
  });

  it('draws from the whole alphabet', () => {
    const seen = new Set(randomAlphanumeric(5000));
    expect(seen.size).toBe(62);
  });
});

describe('SipPasswordCipher', () => {
  const cipher = new SipPasswordCipher(Buffer.alloc(32, 1));

  it('round-trips, with a random IV per value', () => {
    const a = cipher.encrypt('Str0ngPass!', '1679728441');
    const b = cipher.encrypt('Str0ngPass!', '1679728441');
    expect(a).not.toBe(b);
    expect(a).not.toContain('Str0ngPass');
    expect(cipher.decrypt(a, '1679728441')).toBe('Str0ngPass!');
    expect(cipher.decrypt(b, '1679728441')).toBe('Str0ngPass!');
  });

  it('refuses a ciphertext moved to another user, tampered, or under another key', () => {
    const stored = cipher.encrypt('Str0ngPass!', '1679728441');
    expect(() => cipher.decrypt(stored, '1111111111')).toThrow();
    const [v, iv, tag, data] = stored.split(':');
    const flipped = Buffer.from(data, 'base64');
    flipped[0] ^= 1;
    expect(() => cipher.decrypt([v, iv, tag, flipped.toString('base64')].join(':'), '1679728441')).toThrow();
    expect(() => new SipPasswordCipher(Buffer.alloc(32, 2)).decrypt(stored, '1679728441')).toThrow();
  });

  it('needs a 32-byte key', () => {
    expect(() => new SipPasswordCipher(Buffer.alloc(16))).toThrow(/32 bytes/);
  });
});
