import { DEFAULT_USERS_DATABASE_URL, loadUsersConfig } from './users-config';

describe('loadUsersConfig', () => {
  it('uses defaults in development and warns once about the dev secrets', () => {
    const warnings: string[] = [];
    const config = loadUsersConfig({}, (line) => warnings.push(line));
    expect(config.databaseUrl).toBe(DEFAULT_USERS_DATABASE_URL);
    expect(config.sipRealm).toBe('ringcloud');
    expect(config.sipSecretKey).toHaveLength(32);
    expect(config.apiKeyPepper.length).toBeGreaterThanOrEqual(16);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/API_KEY_PEPPER and SIP_SECRET_KEY/);
  });

  it('requires both secrets in production', () => {
    expect(() => loadUsersConfig({ NODE_ENV: 'production' })).toThrow(/API_KEY_PEPPER: is required[\s\S]*SIP_SECRET_KEY: is required/);
  });

  it('accepts the secrets as hex or base64 and then does not warn', () => {
    const warn = jest.fn();
    const key = Buffer.alloc(32, 9);
    const hex = loadUsersConfig({ NODE_ENV: 'production', API_KEY_PEPPER: 'p'.repeat(32), SIP_SECRET_KEY: key.toString('hex') }, warn);
    const b64 = loadUsersConfig({ NODE_ENV: 'production', API_KEY_PEPPER: 'p'.repeat(32), SIP_SECRET_KEY: key.toString('base64') }, warn);
    expect(hex.sipSecretKey.equals(key)).toBe(true);
    expect(b64.sipSecretKey.equals(key)).toBe(true);
    expect(warn).not.toHaveBeenCalled();
  });

  it('rejects a SIP key that is not 32 bytes, a short pepper and a bad realm', () => {
    expect(() => loadUsersConfig({ SIP_SECRET_KEY: 'abcd' })).toThrow(/SIP_SECRET_KEY: must be 32 bytes/);
    expect(() => loadUsersConfig({ API_KEY_PEPPER: 'short' })).toThrow(/API_KEY_PEPPER/);
    expect(() => loadUsersConfig({ SIP_REALM: 'a b' })).toThrow(/SIP_REALM/);
  });
});
