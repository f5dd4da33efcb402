import path from 'node:path';
import { ContextTemplate, loadTelephonyConfig, renderDevice } from './telephony-config';

describe('telephony-adapter configuration', () => {
  it('has working development defaults', () => {
    const warnings: string[] = [];
    const config = loadTelephonyConfig({}, (w) => warnings.push(w));
    expect(config).toMatchObject({
      node: 'pbx1',
      databaseUrl: 'postgresql://postgres@127.0.0.1:5432/ringcloud?schema=telephony',
      ami: { host: '127.0.0.1', port: 5038, username: 'crm', secret: 'crmsecret', actionTimeoutMs: 5000 },
      originate: { deviceTemplate: 'PJSIP/{user}', contextTemplate: 'acct-{account}', timeoutMs: 30000 },
      recordingsDir: path.resolve('tmp/recordings'),
      dialplanReload: true,
    });
    expect(warnings).toEqual([expect.stringContaining('AMI_SECRET not set')]);
  });

  it('reads the environment and refuses what could break AMI headers or production', () => {
    const config = loadTelephonyConfig({ PBX_AMI_PORT: '15038', AMI_SECRET: 's3cret', ORIGINATE_TIMEOUT_MS: '20000', PBX_NODE: 'pbx-2' });
    expect(config.ami).toMatchObject({ port: 15038, secret: 's3cret' });
    expect(config.originate.timeoutMs).toBe(20000);
    expect(() => loadTelephonyConfig({ NODE_ENV: 'production' })).toThrow(/AMI_SECRET: is required/);
    expect(() => loadTelephonyConfig({ ORIGINATE_DEVICE_TEMPLATE: 'PJSIP/{user}\r\nAction: Hangup' })).toThrow(/ORIGINATE_DEVICE_TEMPLATE/);
    expect(() => loadTelephonyConfig({ ORIGINATE_CONTEXT_TEMPLATE: 'acct' })).toThrow(/must contain \{account\}/);
    expect(() => loadTelephonyConfig({ PBX_NODE: 'PBX 1' })).toThrow(/PBX_NODE/);
    expect(() => loadTelephonyConfig({ AMI_SECRET: 'a\nb' })).toThrow(/AMI_SECRET/);
  });

  it('renders and parses account contexts and devices', () => {
    const ctx = new ContextTemplate('acct-{account}');
    expect(ctx.render(1001)).toBe('acct-1001');
    expect(ctx.parse('acct-1001')).toBe(1001);
    for (const other of ['acct-', 'acct-01', 'xacct-1001', 'acct-1001x', 'agents', '']) expect(ctx.parse(other)).toBeNull();
    expect(new ContextTemplate('tenant.{account}.out').parse('tenant.7.out')).toBe(7);
    expect(new ContextTemplate('tenant.{account}.out').parse('tenantx7xout')).toBeNull();
    expect(renderDevice('PJSIP/{user}', '1679728441')).toBe('PJSIP/1679728441');
  });
});
