import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { memoryLogger } from '../log';
import { RunningSimulator, startSimulator } from '../simulator';
import { FIRST_LAB } from '../testing/first-lab';
import { TestAmiClient } from '../testing/ami-client';
import { loadFixture } from '../contract/transcript';

/** The manager interface itself, without the realtime tables (fixture dial plan only). */

let sim: RunningSimulator;
const log = memoryLogger();
const dir = mkdtempSync(path.join(os.tmpdir(), 'pbx-ami-'));
const clients: TestAmiClient[] = [];

async function login(opts: Parameters<typeof TestAmiClient.login>[1] = {}) {
  const c = await TestAmiClient.login(sim.amiPort, opts);
  clients.push(c);
  return c;
}

async function connect() {
  const c = await TestAmiClient.connect(sim.amiPort);
  clients.push(c);
  return c;
}

/** Sends raw bytes and resolves with everything received until the server closes or `ms` pass. */
function exchange(bytes: string, ms = 300): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(sim.amiPort, '127.0.0.1');
    let text = '';
    let closed = false;
    s.setEncoding('latin1');
    s.on('data', (d: string) => (text += d));
    s.on('close', () => {
      closed = true;
      resolve({ text, closed });
    });
    s.on('error', () => undefined);
    s.on('connect', () => s.write(bytes));
    setTimeout(() => {
      s.destroy();
      resolve({ text, closed });
    }, ms);
  });
}

beforeAll(async () => {
  sim = await startSimulator({ amiPort: 0, controlPort: 0, databaseUrl: undefined, recordingsDir: dir, timeScale: 0.05, ...FIRST_LAB, logger: log });
});

afterEach(() => clients.splice(0).forEach((c) => c.close()));

afterAll(async () => {
  await sim.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('AMI server', () => {
  it('greets with the Asterisk banner, byte for byte', async () => {
    const { text } = await exchange('', 100);
    expect(text).toBe('Asterisk Call Manager/11.0.0\r\n');
  });

  it('says one warning when no realtime database is configured', () => {
    expect(log.lines.filter((l) => l.startsWith('warn'))).toEqual(['warn no TELEPHONY_DATABASE_URL: the dial plan runs without realtime rows or endpoints']);
  });

  it('refuses actions before login and answers a failed login then hangs up', async () => {
    const before = await exchange('Action: Ping\r\nActionID: p\r\n\r\n');
    expect(before.text).toContain('Response: Error\r\nActionID: p\r\nMessage: Permission denied\r\n\r\n');
    const failed = await exchange('Action: Login\r\nUsername: crm\r\nSecret: wrong\r\nActionID: login\r\n\r\n', 1000);
    expect(failed.text).toBe(loadFixture('00-login-failure.rx.raw'));
    expect(failed.closed).toBe(true);
  });

  it('answers unknown actions and messages without an Action like Asterisk', async () => {
    const { text } = await exchange(
      'Action: Login\r\nUsername: crm\r\nSecret: crmsecret\r\nEvents: off\r\n\r\nAction: Frobnicate\r\nActionID: u1\r\n\r\nActionID: u2\r\nFoo: bar\r\n\r\n',
    );
    expect(text).toContain('Response: Error\r\nActionID: u1\r\nMessage: Invalid/unknown command\r\n\r\n');
    expect(text).toContain('Response: Error\r\nActionID: u2\r\nMessage: Missing action in request\r\n\r\n');
  });

  it('drops a connection that sends an oversize message', async () => {
    const { closed } = await exchange(`Action: Login\r\nUsername: ${'x'.repeat(70_000)}`, 1000);
    expect(closed).toBe(true);
    // and keeps serving everybody else
    const c = await login();
    expect((await c.action('Ping')).get('Ping')).toBe('Pong');
  });

  it('switches events on and off per session', async () => {
    const quiet = await login({ events: 'off' });
    expect((await quiet.action('Events', { EventMask: 'on' })).get('Events')).toBe('On');
    expect((await quiet.action('Events', { EventMask: 'off' })).get('Events')).toBe('Off');
    const loud = await login();
    await loud.waitEvent('FullyBooted');
    await loud.action('Originate', { Channel: 'Local/100@agents', Context: 'acct-1001', Exten: '79101234567', Priority: '1', Async: 'true', ActionID: 'ignored' });
    await loud.waitEvent('Hangup', { Channel: /;2$/ });
    expect(quiet.events).toEqual([]);
  });

  it('gives every event to every listening client', async () => {
    const a = await login();
    const b = await login();
    const c = await login({ events: 'call' });
    await a.waitEvent('SuccessfulAuth', { SessionID: /.+/ });
    await a.action('Originate', {
      Channel: 'Local/100@agents',
      Context: 'acct-1001',
      Exten: '00079101234567',
      Priority: '1',
      Async: 'true',
      CallerID: '"Agent 100" <100>',
      Variable: 'RC_CALL_ID=multi',
    });
    await Promise.all([a, b].map((x) => x.waitEvent('Cdr', { Channel: /;2$/ })));
    await c.waitEvent('Hangup', { Channel: /;2$/ });
    await new Promise((r) => setTimeout(r, 50));
    const names = (x: TestAmiClient) => x.events.filter((e) => e.get('Uniqueid') !== undefined || e.get('UniqueID') !== undefined).map((e) => e.get('Event'));
    expect(names(b)).toEqual(names(a));
    expect(names(a)).toContain('OriginateResponse');
    // call-class only: no Cdr (cdr), no Newexten (dialplan)
    expect(names(c)).toContain('Hangup');
    expect(names(c)).not.toContain('Cdr');
    expect(names(c)).not.toContain('Newexten');
  });

  it('hangs up a channel on request and reads and sets its variables', async () => {
    const c = await login();
    await c.action('Originate', {
      Channel: 'Local/100@agents',
      Context: 'acct-1001',
      Exten: '79101234567',
      Priority: '1',
      Async: 'true',
      Variable: 'RC_CALL_ID=abc,RC_USER=100',
      ActionID: 'o1',
    });
    const answered = await c.waitEvent('OriginateResponse', { ActionID: 'o1' });
    const channel = answered.get('Channel')!;
    expect((await c.action('Getvar', { Channel: channel, Variable: 'RC_USER' })).get('Value')).toBe('100');
    expect((await c.action('Setvar', { Channel: channel, Variable: 'X', Value: 'y' })).get('Message')).toBe('Variable Set');
    expect((await c.action('Getvar', { Channel: channel, Variable: 'X' })).get('Value')).toBe('y');
    expect((await c.action('Hangup', { Channel: channel, Cause: '16' })).get('Message')).toBe('Channel Hungup');
    await c.waitEvent('SoftHangupRequest', { Channel: channel });
    const hangup = await c.waitEvent('Hangup', { Channel: channel });
    expect(hangup.get('Cause')).toBe('16');
    expect((await c.action('Hangup', { Channel: channel })).get('Message')).toBe('No such channel');
    expect((await c.action('Getvar', { Channel: 'Local/none-1;1', Variable: 'X' })).get('Response')).toBe('Error');
  });

  it('answers a failed synchronous originate with an error and no OriginateResponse', async () => {
    const c = await login();
    const res = await c.action('Originate', { Channel: 'PJSIP/100', Context: 'acct-1001', Exten: '79101234567', Priority: '1', Async: 'false' });
    expect(res.get('Response')).toBe('Error');
    expect(res.get('Message')).toBe('Originate failed');
    expect((await c.action('Originate', { Context: 'x' })).get('Message')).toBe('Channel not specified');
    await new Promise((r) => setTimeout(r, 50));
    expect(c.eventsNamed('OriginateResponse')).toEqual([]);
  });

  it('lists no contacts with the exact bytes res_pjsip sends', async () => {
    const c = await login({ events: 'off' });
    c.raw = '';
    await c.action('PJSIPShowContacts', { ActionID: 'pc' });
    await new Promise((r) => setTimeout(r, 50));
    const fixture = loadFixture('21-device-state-unregistered.rx.raw');
    const start = fixture.indexOf('Response: Error\r\nActionID: pc');
    const reply = fixture.slice(start, fixture.indexOf('Response: Success', start));
    expect(c.raw).toBe(reply);
  });

  it('answers Ping, Command and Logoff', async () => {
    const c = await login({ events: 'off' });
    expect((await c.action('Ping')).headers.map(([k]) => k)).toEqual(['Response', 'ActionID', 'Ping', 'Timestamp']);
    const out = await c.action('Command', { Command: 'core show channels concise' });
    expect(out.get('Message')).toBe('Command output follows');
    const unknown = await c.action('Command', { Command: 'sip show peers' });
    expect(unknown.get('Output')).toMatch(/^No such command 'sip show peers'/);
    const bye = await c.action('Logoff');
    expect(bye.get('Response')).toBe('Goodbye');
    expect(bye.get('Message')).toBe('Thanks for all the fish.');
    await new Promise((r) => setTimeout(r, 50));
    expect(c.closed).toBe(true);
  });

  it('closes every AMI connection on /ami/drop', async () => {
    const a = await login();
    const b = await connect();
    const res = await fetch(`http://127.0.0.1:${sim.controlPort}/ami/drop`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { dropped: number }).dropped).toBeGreaterThanOrEqual(2);
    await new Promise((r) => setTimeout(r, 50));
    expect(a.closed && b.closed).toBe(true);
    const again = await login();
    expect((await again.action('Ping')).get('Response')).toBe('Success');
  });
});
