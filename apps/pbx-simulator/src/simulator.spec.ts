import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadSimulatorConfig } from './config';
import { memoryLogger } from './log';
import { startSimulator } from './simulator';
import { TestAmiClient } from './testing/ami-client';
import { TEST_DATABASE_URL } from './testing/realtime-schema';

describe('simulator start-up', () => {
  it('runs the shipped dial plan and the trunk with one warning when the realtime tables are missing', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pbx-nodb-'));
    const log = memoryLogger();
    const url = new URL(TEST_DATABASE_URL);
    url.searchParams.set('schema', `missing_${Date.now()}`);
    const sim = await startSimulator({ amiPort: 0, controlPort: 0, databaseUrl: url.toString(), recordingsDir: dir, timeScale: 0.05, logger: log });
    const ami = await TestAmiClient.login(sim.amiPort);
    try {
      await ami.action('Originate', { Channel: 'PJSIP/100000001', Context: 'acct-1', Exten: '79101234567', Priority: '1', Async: 'true', ActionID: 'p' });
      expect((await ami.waitEvent('OriginateResponse', { ActionID: 'p' })).get('Response')).toBe('Failure');
      // docker/asterisk/extensions.conf: rc-outbound dials the number through the trunk (the simulated PSTN answers).
      await ami.action('Originate', { Channel: 'Local/79101234567@rc-outbound', Context: 'rc-unrouted', Exten: '1', Priority: '1', Async: 'true', ActionID: 'l' });
      expect((await ami.waitEvent('OriginateResponse', { ActionID: 'l' })).get('Response')).toBe('Success');
      expect((await ami.waitEvent('DialBegin', { DialString: '79101234567@trunk' })).get('DestChannel')).toMatch(/^PJSIP\/trunk-[0-9a-f]{8}$/);
      expect(log.lines.filter((l) => l.startsWith('warn'))).toEqual([expect.stringMatching(/^warn realtime tables unavailable \(relation .* does not exist\); serving the dial plan without realtime rows$/)]);
    } finally {
      ami.close();
      await sim.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads its settings from the environment and refuses bad ones', () => {
    const c = loadSimulatorConfig({ SIM_AMI_PORT: '6038', SIM_TIME_SCALE: '0.1', SIM_AUTO_REGISTER: 'false', TELEPHONY_DATABASE_URL: '', SIM_QUALIFY_DELAY_MS: '50', SIM_CEL: 'true' });
    expect(c).toMatchObject({ amiPort: 6038, controlPort: 5039, timeScale: 0.1, autoRegister: false, databaseUrl: undefined, username: 'crm', secret: 'crmsecret', qualifyDelayMs: 50, cel: true });
    expect(c.confDir).toMatch(/docker\/asterisk$/);
    expect(loadSimulatorConfig({})).toMatchObject({ qualifyDelayMs: 200, cel: false, dialplanFile: undefined, amiRead: undefined });
    expect(() => loadSimulatorConfig({ SIM_TIME_SCALE: '0' })).toThrow(/SIM_TIME_SCALE/);
    expect(() => loadSimulatorConfig({ SIM_AMI_PORT: 'x' })).toThrow(/SIM_AMI_PORT/);
    expect(loadSimulatorConfig({ SIM_SIP_ADDRESS: '10.0.0.5:5560' }).sipAddress).toBe('10.0.0.5:5560');
    expect(() => loadSimulatorConfig({ SIM_SIP_ADDRESS: 'sip:x' })).toThrow(/SIM_SIP_ADDRESS/);
  });
});
