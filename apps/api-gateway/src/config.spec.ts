import { loadGatewayConfig } from './config';
import { BENCH_LIMIT, resolveLimits } from './routing/limits';
import { DEFAULT_LIMITS } from './v1/routes';

describe('gateway configuration', () => {
  it('has the documented defaults', () => {
    const c = loadGatewayConfig({});
    expect(c).toMatchObject({
      PORT: 3000,
      HOST: '0.0.0.0',
      NATS_REQUEST_TIMEOUT_MS: 3000,
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_PREFIX: 'rc:',
      KEY_CACHE_TTL_MS: 500,
      KEY_USAGE_FLUSH_MS: 5000,
      BODY_LIMIT_BYTES: 65536,
      RATE_LIMITS: {},
      RATE_LIMIT_PROFILE: 'default',
      TRUST_PROXY: false,
    });
    expect(c.ADMIN_TOKEN).toBeUndefined();
  });

  it('fails fast on bad values, listing each', () => {
    expect(() => loadGatewayConfig({ PORT: 'x', RATE_LIMITS: '{nope', RATE_LIMIT_PROFILE: 'fast' })).toThrow(
      /PORT[\s\S]*RATE_LIMITS[\s\S]*RATE_LIMIT_PROFILE/,
    );
    expect(() => loadGatewayConfig({ RATE_LIMITS: '{"users.list":{"requests":0,"per_seconds":1}}' })).toThrow(/RATE_LIMITS/);
    expect(() => loadGatewayConfig({ ADMIN_TOKEN: 'short' })).toThrow(/ADMIN_TOKEN/);
  });

  it('applies RATE_LIMITS overrides and the bench profile', () => {
    const overrides = loadGatewayConfig({ RATE_LIMITS: '{"users.list":{"requests":3,"per_seconds":2}}' }).RATE_LIMITS;
    const limits = resolveLimits(DEFAULT_LIMITS, 'default', overrides);
    expect(limits.get('users.list')).toEqual({ requests: 3, per_seconds: 2 });
    expect(limits.get('users.create')).toEqual({ requests: 1, per_seconds: 60 });
    const bench = resolveLimits(DEFAULT_LIMITS, 'bench', {});
    expect([...bench.values()].every((l) => l === BENCH_LIMIT)).toBe(true);
    expect(bench.size).toBe(DEFAULT_LIMITS.size);
  });

  it('refuses overrides for unknown limit ids', () => {
    expect(() => resolveLimits(DEFAULT_LIMITS, 'default', { 'users.lsit': { requests: 1, per_seconds: 1 } })).toThrow(/users\.lsit/);
  });
});
