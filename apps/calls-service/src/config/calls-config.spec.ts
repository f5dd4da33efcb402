import { loadCallsConfig } from './calls-config';

describe('loadCallsConfig', () => {
  it('has working defaults', () => {
    const config = loadCallsConfig({ TZ: 'UTC' });
    expect(config.databaseUrl).toBe('postgresql://postgres@127.0.0.1:5432/ringcloud?schema=calls');
    expect(config.natsUrl).toBe('nats://127.0.0.1:4222');
    expect(config.consumer).toMatchObject({ durableName: 'calls-service', maxAttempts: 8 });
    expect(typeof config.pbxTimeZone).toBe('string');
  });

  it('reads the environment', () => {
    const config = loadCallsConfig({
      CALLS_DATABASE_URL: 'postgresql://db:5432/x?schema=c',
      NATS_URL: 'nats://n:4222',
      NATS_REQUEST_TIMEOUT_MS: '1500',
      PBX_TIMEZONE: 'Europe/Moscow',
      CALLS_EVENTS_BATCH: '50',
      CALLS_MAX_ACK_PENDING: '200',
    });
    expect(config).toMatchObject({
      databaseUrl: 'postgresql://db:5432/x?schema=c',
      natsUrl: 'nats://n:4222',
      natsRequestTimeoutMs: 1500,
      pbxTimeZone: 'Europe/Moscow',
      consumer: { batch: 50, maxAckPending: 200 },
    });
  });

  it('fails fast, listing every problem', () => {
    const attempt = () => loadCallsConfig({ PBX_TIMEZONE: 'Mars/Olympus', CALLS_EVENTS_BATCH: '0', CALLS_DATABASE_URL: 'nope' });
    expect(attempt).toThrow(/invalid configuration/);
    const message = (() => {
      try {
        attempt();
        return '';
      } catch (err) {
        return (err as Error).message;
      }
    })();
    for (const name of ['PBX_TIMEZONE: must be an IANA time zone', 'CALLS_EVENTS_BATCH', 'CALLS_DATABASE_URL']) expect(message).toContain(name);
  });
});
