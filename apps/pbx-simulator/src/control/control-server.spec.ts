import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { memoryLogger } from '../log';
import { RunningSimulator, startSimulator } from '../simulator';
import { TestAmiClient } from '../testing/ami-client';
import { TestSchema, createRealtimeSchema, provisionUser } from '../testing/realtime-schema';

/** The control API answers every client mistake with a 4xx and a message, never a 500. */

let db: TestSchema;
let sim: RunningSimulator;
const dir = mkdtempSync(path.join(os.tmpdir(), 'pbx-ctl-'));
const USER = '800000001';
const OTHER_CONTEXT = '800000002';

const call = async (method: string, p: string, body?: string) => {
  const res = await fetch(`http://127.0.0.1:${sim.controlPort}${p}`, { method, body });
  return { status: res.status, body: (await res.json()) as any };
};

beforeAll(async () => {
  db = await createRealtimeSchema();
  await provisionUser(db, { user: USER, account: 9, num: '201' });
  await db.query(`INSERT INTO ps_endpoints (id, context) VALUES ($1, 'agents-rt')`, [OTHER_CONTEXT]);
  sim = await startSimulator({ amiPort: 0, controlPort: 0, databaseUrl: db.url, recordingsDir: dir, timeScale: 0.05, logger: memoryLogger() });
});

afterAll(async () => {
  await sim?.stop();
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe('control API', () => {
  it.each([
    ['POST', '/calls/inbound', '{"from":"7916","to_user":"800000001"', 400, /not valid JSON/],
    ['POST', '/calls/inbound', '[1,2]', 400, /JSON object/],
    ['POST', '/calls/inbound', '{"from":"79\\r\\n16","to_user":"800000001"}', 400, /from must be/],
    ['POST', '/calls/inbound', '{"from":"79161234567"}', 400, /to \(a number\) or to_user/],
    ['POST', '/calls/inbound', '{"from":"79161234567","to":"7495-123"}', 400, /to must be/],
    ['POST', `/devices/${USER}/register`, '{"uri":"http://x"}', 400, /uri must be a SIP URI/],
    ['POST', `/devices/${USER}/register`, '{"user_agent":"a\\r\\nb"}', 400, /user_agent/],
    ['POST', `/devices/${USER}/register`, '{"expires":0}', 400, /expires/],
    ['POST', `/devices/${USER}/register`, '{"hangs_up":"yes"}', 400, /hangs_up/],
    ['GET', '/voicemail/acct-9/a%20b', undefined, 400, /names/],
    ['POST', '/trunk/sideways', '{}', 404, /no route/],
    ['POST', '/calls/inbound', '{"from":"79161234567","to_user":"999999999"}', 404, /no endpoint 999999999/],
    ['POST', '/calls/inbound', `{"from":"79161234567","to_user":"${OTHER_CONTEXT}"}`, 409, /not an acct-<N> context/],
    ['POST', '/calls/internal', '{"from_user":"800000001","to_num":"999"}', 404, /no extension 999 in acct-9/],
    ['POST', '/calls/internal', '{"from_user":"800000001","to_num":"20 1"}', 400, /to_num/],
    ['POST', '/calls/dial', '{"from_user":"800000001","to_num":"7"}', 400, /to_num must be 2–20 digits/],
    ['POST', '/calls/dial', '{"from_user":"nobody","to_num":"777"}', 404, /nobody/],
    ['POST', '/devices/..%2F..%2Fetc/register', undefined, 400, /SIP user name/],
    ['POST', '/devices/%E0%A4%A/register', undefined, 400, /malformed path/],
    ['POST', `/devices/${USER}/register`, '{"behaviour":"dance"}', 400, /behaviour must be/],
    ['GET', '/calls/inbound', undefined, 405, /not allowed/],
    ['POST', '/nothing/here', '{}', 404, /no route/],
  ])('%s %s %s → %i', async (method, p, body, status, message) => {
    const res = await call(method, p, body);
    expect(res.status).toBe(status);
    expect(res.body.error).toMatch(message);
  });

  it('takes the trunk down and up', async () => {
    expect((await call('POST', '/trunk/down')).body).toEqual({ up: false });
    expect((await call('GET', '/trunk')).body).toEqual({ up: false });
    expect((await call('POST', '/trunk/up')).body).toEqual({ up: true });
  });

  it('writes recordings only inside RECORDINGS_DIR, whatever path the dial plan names', () => {
    const root = sim.recordingsDir;
    expect(sim.engine.recordingTarget('/var/spool/asterisk/monitor/1.2.wav')).toBe(path.join(root, '1.2.wav'));
    expect(sim.engine.recordingTarget('/var/spool/asterisk/monitor/day/1.2.wav')).toBe(path.join(root, 'day', '1.2.wav'));
    expect(sim.engine.recordingTarget('/var/spool/asterisk/monitor/../../../etc/x.wav')).toBe(path.join(root, 'x.wav'));
    expect(sim.engine.recordingTarget('/tmp/elsewhere/y.wav')).toBe(path.join(root, 'y.wav'));
  });

  it('lists an empty mailbox', async () => {
    expect((await call('GET', '/voicemail/acct-9/201')).body).toEqual({ context: 'acct-9', mailbox: '201', exists: false, messages: [] });
  });

  it('refuses an oversize body', async () => {
    const res = await call('POST', '/calls/inbound', JSON.stringify({ from: '79161234567', to_user: USER, pad: 'x'.repeat(70_000) }));
    expect(res.status).toBe(413);
  });

  it('refuses an internal call from an unregistered phone', async () => {
    expect((await call('POST', `/devices/${USER}/unregister`)).body).toEqual({ user: USER, registered: false, behaviour: 'answer', state: 'UNAVAILABLE' });
    const res = await call('POST', '/calls/internal', JSON.stringify({ from_user: USER, to_num: '201' }));
    expect(res.status).toBe(409);
    // Its AOR has qualify_frequency: reachable (NOT_INUSE) only after the first OPTIONS.
    expect((await call('POST', `/devices/${USER}/register`)).body).toMatchObject({ registered: true, state: 'UNAVAILABLE' });
  });

  it('shows live channels', async () => {
    const ami = await TestAmiClient.login(sim.amiPort);
    try {
      await ami.action('Originate', { Channel: `PJSIP/${USER}`, Context: 'acct-9', Exten: '79101234567', Priority: '1', Async: 'true', ActionID: 'c1' });
      await ami.waitEvent('OriginateResponse', { ActionID: 'c1' });
      await ami.waitEvent('DialBegin', { DialString: '79101234567@trunk' });
      const { status, body } = await call('GET', '/channels');
      expect(status).toBe(200);
      expect(body.map((c: { channel: string }) => c.channel)).toEqual([expect.stringMatching(new RegExp(`^PJSIP/${USER}-`)), expect.stringMatching(/^PJSIP\/trunk-/)]);
      expect(body[0]).toMatchObject({ context: 'acct-9', exten: '79101234567', caller_id_num: '201', application: 'Dial' });
      expect((await call('GET', '/health')).body).toMatchObject({ status: 'ok', ami_sessions: 1 });
    } finally {
      ami.close();
    }
  });
});
