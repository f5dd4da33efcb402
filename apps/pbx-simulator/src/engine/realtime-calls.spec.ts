import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AmiMessage } from '../ami/protocol';
import { memoryLogger } from '../log';
import { RunningSimulator, startSimulator } from '../simulator';
import { TestAmiClient } from '../testing/ami-client';
import { TestSchema, createRealtimeSchema, provisionUser } from '../testing/realtime-schema';
import { wavDuration } from './recording';

/**
 * Calls of provisioned users (the realtime tables, issue 3): outgoing originates, inbound calls
 * from the PSTN and internal calls, with the CDRs, device states and recordings they produce.
 */

const SCALE = 0.05;
const TALK_S = 3;
const ACCOUNT = 7;
const ALICE = '700000001'; // extension 101
const BOB = '700000002'; // extension 102
const CAROL = '700000003'; // extension 103, never registered in these tests

let db: TestSchema;
let sim: RunningSimulator;
let ami: TestAmiClient;
let recordings: string;

const control = (p: string, body?: unknown) =>
  fetch(`http://127.0.0.1:${sim.controlPort}${p}`, { method: 'POST', body: body === undefined ? undefined : JSON.stringify(body) });

/** Waits for the Hangup of the first channel whose name starts with `prefix`, and the Cdrs of its call. */
async function callRecords(prefix: string): Promise<{ hangup: AmiMessage; cdrs: AmiMessage[]; wavAtHangup?: number }> {
  let wavAtHangup: number | undefined;
  const hangup = await ami.waitFor((m) => {
    if (m.get('Event') !== 'Hangup' || !m.get('Channel')!.startsWith(prefix)) return false;
    // The recording must be complete when the Hangup event arrives: look at it right now.
    const file = path.join(recordings, `${m.get('Uniqueid')}.wav`);
    if (existsSync(file)) wavAtHangup = statSync(file).size;
    return true;
  }, 10_000);
  await new Promise((r) => setTimeout(r, 100));
  const cdrs = ami.eventsNamed('Cdr').filter((c) => ami.events.some((e) => e.get('Event') === 'Newchannel' && e.get('Channel') === c.get('Channel') && e.get('Linkedid') === hangup.get('Linkedid')));
  return { hangup, cdrs, wavAtHangup };
}

const cdrOf = (cdrs: AmiMessage[], channelPrefix: string) => cdrs.filter((c) => c.get('Channel')!.startsWith(channelPrefix));

/** The recording covers the conversation the CDR bills (timer drift on a loaded machine moves both alike). */
function expectRecordingOfBilledCall(uniqueid: string, cdr: { get(name: string): string | undefined }): void {
  const billed = Number(cdr.get('BillableSeconds'));
  const recorded = recordingSeconds(uniqueid);
  expect(Math.abs(billed - TALK_S)).toBeLessThanOrEqual(1);
  expect(recorded).toBeGreaterThanOrEqual(billed - 0.05);
  expect(recorded).toBeLessThan(billed + 1);
}

function recordingSeconds(uniqueid: string): number {
  return wavDuration(readFileSync(path.join(recordings, `${uniqueid}.wav`)));
}

beforeAll(async () => {
  recordings = mkdtempSync(path.join(os.tmpdir(), 'pbx-rt-'));
  db = await createRealtimeSchema();
  await provisionUser(db, { user: ALICE, account: ACCOUNT, num: '101' });
  await provisionUser(db, { user: BOB, account: ACCOUNT, num: '102', voicemail: true });
  await provisionUser(db, { user: CAROL, account: ACCOUNT, num: '103' });
  sim = await startSimulator({
    amiPort: 0,
    controlPort: 0,
    databaseUrl: db.url,
    recordingsDir: recordings,
    timeScale: SCALE,
    answerDelayMs: 1000 * SCALE,
    talkMs: TALK_S * 1000 * SCALE,
    autoRegister: true,
    provisioningPollMs: 100,
    logger: memoryLogger(),
  });
  expect((await control(`/devices/${CAROL}/unregister`)).status).toBe(200);
});

beforeEach(async () => {
  ami = await TestAmiClient.login(sim.amiPort);
});

afterEach(() => ami.close());

afterAll(async () => {
  await sim?.stop();
  await db?.drop();
  rmSync(recordings, { recursive: true, force: true });
});

const originate = (user: string, num: string, actionId: string) =>
  ami.action('Originate', {
    Channel: `PJSIP/${user}`,
    Context: `acct-${ACCOUNT}`,
    Exten: num,
    Priority: '1',
    Async: 'true',
    Timeout: '30000',
    CallerID: '"101" <101>',
    ActionID: actionId,
    Variable: [`RC_CALL_ID=${actionId}`, `RC_ACCOUNT=${ACCOUNT}`, `RC_USER=${user}`],
  });

describe('realtime calls', () => {
  it('originates to a provisioned phone, dials the number as party B and records the conversation', async () => {
    expect((await originate(ALICE, '79101234567', 'out-1')).get('Message')).toBe('Originate successfully queued');
    const answered = await ami.waitEvent('OriginateResponse', { ActionID: 'out-1' });
    expect(answered.get('Response')).toBe('Success');
    expect(answered.get('Reason')).toBe('4');
    expect(answered.get('Channel')).toMatch(new RegExp(`^PJSIP/${ALICE}-[0-9a-f]{8}$`));
    await ami.waitEvent('VarSet', { Channel: answered.get('Channel')!, Variable: 'RC_CALL_ID', Value: 'out-1' });
    await ami.waitEvent('DeviceStateChange', { Device: `PJSIP/${ALICE}`, State: 'INUSE' });
    await ami.waitEvent('MixMonitorStart', { Channel: answered.get('Channel')! });

    const { hangup, cdrs, wavAtHangup } = await callRecords(`PJSIP/${ALICE}-`);
    const [cdr] = cdrOf(cdrs, `PJSIP/${ALICE}-`);
    expect(cdr.get('Source')).toBe('101');
    expect(cdr.get('Destination')).toBe('79101234567');
    expect(cdr.get('DestinationContext')).toBe(`acct-${ACCOUNT}`);
    expect(cdr.get('DestinationChannel')).toMatch(/^Local\/79101234567@pstn-rt-/);
    expect(cdr.get('Disposition')).toBe('ANSWERED');
    expect(cdr.get('UserField')).toBe(`acct-${ACCOUNT}`);
    expect(cdr.get('AccountCode')).toBe(String(ACCOUNT));
    expect(Math.abs(Number(cdr.get('BillableSeconds')) - TALK_S)).toBeLessThanOrEqual(1);
    // Complete when the Hangup event arrived: the size seen then is the final size.
    expect(wavAtHangup).toBe(statSync(path.join(recordings, `${hangup.get('Uniqueid')}.wav`)).size);
    expectRecordingOfBilledCall(hangup.get('Uniqueid')!, cdr);
    await ami.waitEvent('DeviceStateChange', { Device: `PJSIP/${ALICE}`, State: 'NOT_INUSE' });
  });

  it.each([
    ['000', 'BUSY', 'BUSY'],
    ['999', 'CONGESTION', 'CONGESTION'],
    ['555', 'NOANSWER', 'NO ANSWER'],
  ])('gives party B %s the dial status %s', async (prefix, dialStatus, disposition) => {
    await originate(ALICE, `${prefix}79101234567`, `b-${prefix}`);
    const answered = await ami.waitEvent('OriginateResponse', { ActionID: `b-${prefix}` });
    const dialEnd = await ami.waitEvent('DialEnd', { Channel: answered.get('Channel')! }, 5000);
    expect(dialEnd.get('DialStatus')).toBe(dialStatus);
    const { cdrs } = await callRecords(answered.get('Channel')!);
    expect(cdrOf(cdrs, answered.get('Channel')!).map((c) => c.get('Disposition'))).toEqual([disposition, 'ANSWERED']);
  });

  it('fails the originate to an unregistered phone the way Asterisk does', async () => {
    expect((await originate(CAROL, '79101234567', 'unreg')).get('Response')).toBe('Success');
    const res = await ami.waitEvent('OriginateResponse', { ActionID: 'unreg' });
    expect(res.headers.filter(([k]) => ['Response', 'Channel', 'Reason', 'Uniqueid'].includes(k))).toEqual([
      ['Response', 'Failure'],
      ['Channel', `PJSIP/${CAROL}`],
      ['Reason', '0'],
      ['Uniqueid', '<unknown>'],
    ]);
  });

  it('rings a phone from the PSTN through from-pstn, with the account in the CDR userfield', async () => {
    const res = await control('/calls/inbound', { from: '79161234567', to_user: BOB });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { channel: string; uniqueid: string; did?: string };
    expect(body.did).toBe('102');
    await ami.waitEvent('DialBegin', { DestChannel: new RegExp(`^PJSIP/${BOB}-`) });
    await ami.waitEvent('DeviceStateChange', { Device: `PJSIP/${BOB}`, State: 'RINGING' });
    const { cdrs } = await callRecords(body.channel);
    const [cdr] = cdrOf(cdrs, body.channel);
    expect(cdr.get('Source')).toBe('79161234567');
    expect(cdr.get('Destination')).toBe('102');
    expect(cdr.get('DestinationContext')).toBe('from-pstn');
    expect(cdr.get('UserField')).toBe(`acct-${ACCOUNT}`);
    expect(cdr.get('DestinationChannel')).toMatch(new RegExp(`^PJSIP/${BOB}-`));
    expect(cdr.get('Disposition')).toBe('ANSWERED');
    expectRecordingOfBilledCall(body.uniqueid, cdr);
  });

  it('connects an extension to another inside the account context', async () => {
    const res = await control('/calls/internal', { from_user: ALICE, to_num: '102' });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { channel: string; uniqueid: string; did?: string };
    const { cdrs } = await callRecords(body.channel);
    const [cdr] = cdrOf(cdrs, body.channel);
    expect(cdr.get('Source')).toBe('101');
    expect(cdr.get('Destination')).toBe('102');
    expect(cdr.get('DestinationContext')).toBe(`acct-${ACCOUNT}`);
    expect(cdr.get('DestinationChannel')).toMatch(new RegExp(`^PJSIP/${BOB}-`));
    expect(cdr.get('UserField')).toBe(`acct-${ACCOUNT}`);
    expect(cdr.get('Disposition')).toBe('ANSWERED');
    expectRecordingOfBilledCall(body.uniqueid, cdr);
  });

  it('dials an unregistered extension as CHANUNAVAIL', async () => {
    const res = await control('/calls/internal', { from_user: ALICE, to_num: '103' });
    const body = (await res.json()) as { channel: string; uniqueid: string; did?: string };
    await ami.waitEvent('VarSet', { Channel: body.channel, Variable: 'DIALSTATUS', Value: 'CHANUNAVAIL' });
    const { cdrs } = await callRecords(body.channel);
    expect(cdrOf(cdrs, body.channel)[0].get('Disposition')).toBe('FAILED');
  });

  it('follows registrations in device states, DeviceStateList and PJSIPShowContacts', async () => {
    expect((await control(`/devices/${BOB}/unregister`)).status).toBe(200);
    await ami.waitEvent('DeviceStateChange', { Device: `PJSIP/${BOB}`, State: 'UNAVAILABLE' });
    const list = await ami.action('DeviceStateList', { ActionID: 'dsl' });
    expect(list.get('EventList')).toBe('start');
    await ami.waitEvent('DeviceStateListComplete', { ActionID: 'dsl' });
    const states = Object.fromEntries(ami.eventsNamed('DeviceStateChange', { ActionID: 'dsl' }).map((e) => [e.get('Device'), e.get('State')]));
    expect(states[`PJSIP/${ALICE}`]).toBe('NOT_INUSE');
    expect(states[`PJSIP/${BOB}`]).toBe('UNAVAILABLE');
    await ami.action('PJSIPShowContacts', { ActionID: 'pc' });
    await ami.waitEvent('ContactListComplete', { ActionID: 'pc' });
    expect(ami.eventsNamed('ContactList', { ActionID: 'pc' }).map((e) => e.get('Endpoint'))).toEqual([ALICE]);
    const detail = await ami.action('PJSIPShowEndpoint', { Endpoint: BOB, ActionID: 'pe' });
    expect(detail.get('Response')).toBe('Success');
    const endpoint = await ami.waitEvent('EndpointDetail', { ActionID: 'pe' });
    expect(endpoint.get('Context')).toBe(`acct-${ACCOUNT}`);
    expect(endpoint.get('Mailboxes')).toBe(`102@acct-${ACCOUNT}`);
    expect(endpoint.get('DeviceState')).toBe('Unavailable');
    expect((await ami.waitEvent('AuthDetail', { ActionID: 'pe' })).get('AuthType')).toBe('md5');
    expect((await control(`/devices/${BOB}/register`, { behaviour: 'answer' })).status).toBe(200);
    await ami.waitEvent('DeviceStateChange', { Device: `PJSIP/${BOB}`, State: 'NOT_INUSE' });
  });

  it('lets leg A ring out: OriginateResponse Reason 3 after the Timeout', async () => {
    await control(`/devices/${BOB}/register`, { behaviour: 'no_answer' });
    try {
      await ami.action('Originate', { Channel: `PJSIP/${BOB}`, Context: `acct-${ACCOUNT}`, Exten: '79101234567', Priority: '1', Async: 'true', Timeout: '5000', ActionID: 'ring-out' });
      await ami.waitEvent('DialState', { DestChannel: new RegExp(`^PJSIP/${BOB}-`), DialStatus: 'RINGING' });
      const res = await ami.waitEvent('OriginateResponse', { ActionID: 'ring-out' });
      expect([res.get('Response'), res.get('Reason')]).toEqual(['Failure', '3']);
      const hangup = await ami.waitEvent('Hangup', { Channel: new RegExp(`^PJSIP/${BOB}-`) });
      expect(hangup.get('Cause')).toBe('19');
    } finally {
      await control(`/devices/${BOB}/register`);
    }
  });

  it('announces a newly provisioned phone as registered, and a removed one as unavailable', async () => {
    const DAVE = '700000004';
    await provisionUser(db, { user: DAVE, account: ACCOUNT, num: '104' });
    await ami.waitEvent('DeviceStateChange', { Device: `PJSIP/${DAVE}`, State: 'NOT_INUSE' }, 3000);
    await db.query('DELETE FROM ps_endpoints WHERE id = $1', [DAVE]);
    await ami.waitEvent('DeviceStateChange', { Device: `PJSIP/${DAVE}`, State: 'UNAVAILABLE' }, 3000);
    expect(ami.eventsNamed('DeviceStateChange', { Device: `PJSIP/${ALICE}` })).toEqual([]);
  });

  it('lets a phone refuse a call as busy', async () => {
    await control(`/devices/${BOB}/register`, { behaviour: 'busy' });
    try {
      await originate(BOB, '79101234567', 'busy-phone');
      const res = await ami.waitEvent('OriginateResponse', { ActionID: 'busy-phone' });
      expect(res.get('Response')).toBe('Failure');
      expect(res.get('Reason')).toBe('5');
    } finally {
      await control(`/devices/${BOB}/register`);
    }
  });
});
