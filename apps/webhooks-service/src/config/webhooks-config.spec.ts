import { DEFAULT_RETRY_SCHEDULE_MS, loadWebhooksConfig } from './webhooks-config';

describe('loadWebhooksConfig', () => {
  it('has working defaults and warns about the development key', () => {
    const warnings: string[] = [];
    const config = loadWebhooksConfig({}, (line) => warnings.push(line));
    expect(config).toMatchObject({
      databaseUrl: 'postgresql://postgres@127.0.0.1:5432/ringcloud?schema=webhooks',
      allowLoopbackHttp: false,
      timeoutMs: 10_000,
      retentionMs: 7 * 86_400_000,
      consumerName: 'webhooks-service',
    });
    expect(config.secretKey).toHaveLength(32);
    expect(warnings.join('\n')).toMatch(/WEBHOOK_SECRET_KEY not set/);
    // About 24 hours of retries.
    const total = DEFAULT_RETRY_SCHEDULE_MS.reduce((a, b) => a + b, 0);
    expect(total / 3600_000).toBeGreaterThan(22);
    expect(total / 3600_000).toBeLessThan(26);
  });

  it('reads the environment', () => {
    const config = loadWebhooksConfig({
      WEBHOOK_SECRET_KEY: '22'.repeat(32),
      WEBHOOKS_ALLOW_LOOPBACK_HTTP: 'true',
      WEBHOOKS_RETRY_SCHEDULE_MS: '100, 200,400',
      WEBHOOKS_TIMEOUT_MS: '1500',
    });
    expect(config).toMatchObject({ allowLoopbackHttp: true, retryScheduleMs: [100, 200, 400], timeoutMs: 1500 });
    expect(config.secretKey).toEqual(Buffer.alloc(32, 0x22));
  });

  it('fails fast, listing every problem, and needs the key in production', () => {
    expect(() => loadWebhooksConfig({ WEBHOOKS_RETRY_SCHEDULE_MS: 'soon', WEBHOOKS_TIMEOUT_MS: '5' })).toThrow(
      /WEBHOOKS_RETRY_SCHEDULE_MS[\s\S]*WEBHOOKS_TIMEOUT_MS/,
    );
    expect(() => loadWebhooksConfig({ NODE_ENV: 'production' })).toThrow(/WEBHOOK_SECRET_KEY: is required/);
    expect(() => loadWebhooksConfig({ WEBHOOK_SECRET_KEY: 'short' })).toThrow(/WEBHOOK_SECRET_KEY: must be 32 bytes/);
  });
});
