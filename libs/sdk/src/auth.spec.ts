import { accountIdOfKey, v1Hash } from './auth';

describe('v1 authentication', () => {
  it('hashes as the spec defines: lowercase hex md5(api_key + password), UTF-8', () => {
    // The spec's own example (md5sum of "1001_a1b2c3s3cret").
    expect(v1Hash('1001_a1b2c3', 's3cret')).toBe('ef103d9e3ab11e61f71ef13dbaeb0743');
    expect(v1Hash('1001_a1b2c3', 's3cret!')).not.toBe('ef103d9e3ab11e61f71ef13dbaeb0743');
    // UTF-8, not Latin-1: "é" is two bytes.
    expect(v1Hash('k', 'é')).toBe('8ff5442320911b88009f6953d9efb7ac');
  });

  it('reads the account id from a key', () => {
    expect(accountIdOfKey('1001_a1b2c3')).toBe(1001);
    expect(accountIdOfKey('nokey')).toBeNull();
  });
});
