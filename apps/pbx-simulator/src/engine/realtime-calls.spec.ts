import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AmiMessage } from '../ami/protocol';
import { memoryLogger } from '../log';
import { RunningSimulator, startSimulator } from '../simulator';
import { TestAmiClient } from '../testing/ami-client';
import { TestSchema, assignDid, createRealtimeSchema, provisionUser } from '../testing/realtime-schema';
import { eventually } from '@ringcloud/testing';
import { wavDuration } from './recording';

/**
 * Calls of provisioned users with the shipped dial plan (docker/asterisk: rc-outbound to the
 * trunk, from-pstn by DID rows, acct-N from the realtime rows): outgoing originates, inbound
 * calls from the PSTN, internal calls and voicemail, with the CDRs, device states and
 * recordings they produce. Phones provisioned before the start, with qualify_frequency 60.
 */

const SCALE = 0.05;
const TALK_S = 3;
const ACCOUNT = 7;
const ALICE = '700000001'; // extension 101
const BOB = '700000002'; // extension 102
const CAROL = '700000003'; // extension 103, never registered in these tests
const DID = '74951234567'; // routed to Bob (102)

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

/** What the PSTN was sent for the call on this trunk channel (the simulator's GET /trunk/invites). */
async function trunkInvite(channel: string): Promise<unknown> {
  const invites = (await (await fetch(`http://127.0.0.1:${sim.controlPort}/trunk/invites`)).json()) as { channel: string }[];
  return invites.find((i) => i.channel === channel);
}

const cdrOf = (cdrs: AmiMessage[], channelPrefix: string) => cdrs.filter((c) => c.get('Channel')!.startsWith(channelPrefix));

/**
 * The recording covers the conversation the CDR bills (timer drift on a loaded machine moves both
 * alike). `ringing`: seconds the far end rang after the recorded channel was answered (billed,
 * not recorded: an originate's leg A is billed from its own answer, the PSTN rings 1 s);
 * `slack`: how far off that figure may be (measured from the events' arrival).
 */
function expectRecordingOfBilledCall(uniqueid: string, cdr: { get(name: string): string | undefined }, ringing = 0, slack = 0): void {
  const billed = Number(cdr.get('BillableSeconds'));
  const recorded = recordingSeconds(uniqueid);
  expect(Math.abs(billed - ringing - TALK_S)).toBeLessThanOrEqual(1 + slack);
  expect(Math.abs(recorded - TALK_S)).toBeLessThan(0.5);
  // Whole seconds billed (floored), fractions recorded.
  expect(recorded).toBeGreaterThanOrEqual(billed - ringing - 0.05 - slack);
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
  await assignDid(db, { did: DID, account: ACCOUNT, num: '102' });
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
    qualifyDelayMs: 200,
    voicemailDir: path.join(recordings, 'voicemail'),
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
  it('originates to a provisioned phone, dials the number through the trunk and records the conversation', async () => {
    expect((await originate(ALICE, '79101234567', 'out-1')).get('Message')).toBe('Originate successfully queued');
    const answered = await ami.waitEvent('OriginateResponse', { ActionID: 'out-1' });
    expect(answered.get('Response')).toBe('Success');
    expect(answered.get('Reason')).toBe('4');
    expect(answered.get('Channel')).toMatch(new RegExp(`^PJSIP/${ALICE}-[0-9a-f]{8}$`));
    await ami.waitEvent('VarSet', { Channel: answered.get('Channel')!, Variable: 'RC_CALL_ID', Value: 'out-1' });
    await ami.waitEvent('DeviceStateChange', { Device: `PJSIP/${ALICE}`, State: 'INUSE' });
    await ami.waitEvent('MixMonitorStart', { Channel: answered.get('Channel')! });
    expect((await ami.waitEvent('DialBegin', { Channel: answered.get('Channel')! })).get('DialString')).toBe('79101234567@trunk');

    const { hangup, cdrs, wavAtHangup } = await callRecords(`PJSIP/${ALICE}-`);
    expect(cdrs).toHaveLength(1);
    const [cdr] = cdrOf(cdrs, `PJSIP/${ALICE}-`);
    expect(cdr.get('Source')).toBe('101');
    expect(cdr.get('Destination')).toBe('79101234567');
    expect(cdr.get('DestinationContext')).toBe(`acct-${ACCOUNT}`);
    expect(cdr.get('DestinationChannel')).toMatch(/^PJSIP\/trunk-[0-9a-f]{8}$/);
    expect(cdr.get('LastData')).toBe('PJSIP/79101234567@trunk,60,f(<101>)');
    expect(cdr.get('Disposition')).toBe('ANSWERED');
    expect(cdr.get('UserField')).toBe(`acct-${ACCOUNT}`);
    expect(cdr.get('AccountCode')).toBe(String(ACCOUNT));
    // The PSTN hung up (BYE): its channel asked first.
    expect(ami.eventsNamed('HangupRequest', { Channel: /^PJSIP\/trunk-/, Linkedid: hangup.get('Linkedid')! })).toHaveLength(1);
    // Complete when the Hangup event arrived: the size seen then is the final size.
    expect(wavAtHangup).toBe(statSync(path.join(recordings, `${hangup.get('Uniqueid')}.wav`)).size);
    // Leg A is billed from its own answer: the PSTN's ringing (1 s) and the dial plan's steps until
    // it answered are billed, not recorded. How long that took here, in PBX seconds:
    const up = (channel: RegExp | string) => ami.eventsNamed('Newstate', { Channel: channel, ChannelStateDesc: 'Up', Linkedid: hangup.get('Linkedid')! })[0];
    const ringing = (ami.receivedAt.get(up(/^PJSIP\/trunk-/))! - ami.receivedAt.get(up(answered.get('Channel')!))!) / 1000 / SCALE;
    expect(ringing).toBeGreaterThanOrEqual(0.95);
    // Event delivery on a loaded machine: ±0.5 PBX s (25 ms) on that figure.
    expectRecordingOfBilledCall(hangup.get('Uniqueid')!, cdr, ringing, 0.5);
    // Qualified and reachable: back to NOT_INUSE (without qualify it would fall back to UNAVAILABLE).
    await ami.waitEvent('DeviceStateChange', { Device: `PJSIP/${ALICE}`, State: 'NOT_INUSE' });
    // A user without an inbound number shows the PSTN the extension, and no name (not the number dialled).
    expect(await trunkInvite(cdr.get('DestinationChannel')!)).toEqual({ number: '79101234567', caller: { num: '101', name: '' }, channel: cdr.get('DestinationChannel') });
  });

  it("shows the PSTN the user's own inbound number (the endpoint's set_var), leaving the call's caller id and CDR the employee's", async () => {
    const GINA = '700000007';
    const NUMBER = '74951230107';
    await provisionUser(db, { user: GINA, account: ACCOUNT, num: '107', callerNumber: NUMBER });
    await ami.waitEvent('ContactStatus', { AOR: GINA, ContactStatus: 'Reachable' }, 10_000);
    try {
      await originate(GINA, '79101234568', 'own-number');
      const answered = await ami.waitEvent('OriginateResponse', { ActionID: 'own-number' });
      const legA = answered.get('Channel')!;
      // chan_pjsip sets the endpoint's variable as the channel is created.
      const events = ami.events.filter((e) => e.get('Channel') === legA);
      expect(events[0].get('Event')).toBe('Newchannel');
      expect(events.find((e) => e.get('Variable') === 'RC_CALLER_NUMBER')?.get('Value')).toBe(NUMBER);
      const { cdrs } = await callRecords(legA);
      const [cdr] = cdrOf(cdrs, legA);
      expect(cdr.get('Source')).toBe('101');
      expect(cdr.get('LastData')).toBe(`PJSIP/79101234568@trunk,60,f(<${NUMBER}>)`);
      expect(await trunkInvite(cdr.get('DestinationChannel')!)).toMatchObject({ number: '79101234568', caller: { num: NUMBER, name: '' } });
    } finally {
      await db.query('DELETE FROM extensions WHERE exten = $1', ['107']);
      await db.query('DELETE FROM ps_endpoints WHERE id = $1', [GINA]);
    }
  });

  it.each([
    ['000', 'BUSY', 'BUSY', '17'],
    ['999', 'CONGESTION', 'CONGESTION', '34'],
    ['555', 'NOANSWER', 'NO ANSWER', '16'],
  ])('gives party B %s the dial status %s, and a second Cdr from Hangup()', async (prefix, dialStatus, disposition, cause) => {
    await originate(ALICE, `${prefix}79101234567`, `b-${prefix}`);
    const answered = await ami.waitEvent('OriginateResponse', { ActionID: `b-${prefix}` });
    const dialEnd = await ami.waitEvent('DialEnd', { Channel: answered.get('Channel')! }, 6000);
    expect(dialEnd.get('DialStatus')).toBe(dialStatus);
    const { hangup, cdrs } = await callRecords(answered.get('Channel')!);
    const mine = cdrOf(cdrs, answered.get('Channel')!);
    expect(mine.map((c) => [c.get('Disposition'), c.get('LastApplication'), c.get('UniqueID')])).toEqual([
      [disposition, 'Dial', hangup.get('Uniqueid')],
      ['ANSWERED', 'Hangup', hangup.get('Uniqueid')],
    ]);
    expect(hangup.get('Cause')).toBe(cause);
  });

  it('gives up on a trunk that does not answer after SIP timer B (408), as NO ANSWER', async () => {
    await control('/trunk/down');
    try {
      await originate(ALICE, '79101234567', 'down');
      const answered = await ami.waitEvent('OriginateResponse', { ActionID: 'down' });
      const request = await ami.waitEvent('HangupRequest', { Channel: /^PJSIP\/trunk-/, Linkedid: answered.get('Uniqueid')! }, 5000);
      expect([request.get('Cause'), request.get('TechCause')]).toEqual(['18', '408']);
      expect((await ami.waitEvent('DialEnd', { Channel: answered.get('Channel')! })).get('DialStatus')).toBe('NOANSWER');
      await ami.waitEvent('VarSet', { Channel: answered.get('Channel')!, Variable: 'DIALSTATUS', Value: 'CHANUNAVAIL' });
      const { hangup, cdrs } = await callRecords(answered.get('Channel')!);
      expect([hangup.get('Cause'), hangup.get('TechCause')]).toEqual(['18', '408']);
      expect(cdrOf(cdrs, answered.get('Channel')!).map((c) => c.get('Disposition'))).toEqual(['NO ANSWER', 'ANSWERED']);
    } finally {
      await control('/trunk/up');
    }
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

  it.each([
    ['a number with DID rows', { to: DID }, DID],
    ['the deprecated to_user form', { to_user: BOB }, '102'],
  ])('rings a phone from the PSTN through the trunk: %s', async (_name, target, dialled) => {
    const res = await control('/calls/inbound', { from: '79161234567', ...target });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { channel: string; uniqueid: string };
    expect(body.channel).toMatch(/^PJSIP\/trunk-[0-9a-f]{8}$/);
    const created = await ami.waitEvent('Newchannel', { Channel: body.channel });
    expect([created.get('Context'), created.get('Exten'), created.get('CallerIDNum')]).toEqual(['from-pstn', dialled, '79161234567']);
    await ami.waitEvent('DialBegin', { DestChannel: new RegExp(`^PJSIP/${BOB}-`) });
    await ami.waitEvent('DeviceStateChange', { Device: `PJSIP/${BOB}`, State: 'RINGING' });
    const { cdrs } = await callRecords(body.channel);
    const [cdr] = cdrOf(cdrs, body.channel);
    expect(cdr.get('Source')).toBe('79161234567');
    expect(cdr.get('Destination')).toBe('102');
    expect(cdr.get('DestinationContext')).toBe(`acct-${ACCOUNT}`);
    expect(cdr.get('UserField')).toBe(`acct-${ACCOUNT}`);
    expect(cdr.get('DestinationChannel')).toMatch(new RegExp(`^PJSIP/${BOB}-`));
    expect(cdr.get('Disposition')).toBe('ANSWERED');
    expectRecordingOfBilledCall(body.uniqueid, cdr);
  });

  it('sends a call to a number no account owns to rc-unrouted: Congestion, 503', async () => {
    const res = await control('/calls/inbound', { from: '74950001122', to: '74950000000' });
    const body = (await res.json()) as { channel: string };
    const { hangup, cdrs } = await callRecords(body.channel);
    expect([hangup.get('Cause'), hangup.get('TechCause')]).toEqual(['34', '503']);
    expect(cdrs.map((c) => [c.get('Disposition'), c.get('LastApplication'), c.get('UserField')])).toEqual([['CONGESTION', 'Congestion', '']]);
  });

  it('connects an extension to another inside the account context, unrecorded, the caller hanging up', async () => {
    const res = await control('/calls/internal', { from_user: ALICE, to_num: '102' });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { channel: string; uniqueid: string; did?: string };
    const { cdrs } = await callRecords(body.channel);
    const [cdr] = cdrOf(cdrs, body.channel);
    expect(cdr.get('Source')).toBe('101');
    expect(cdr.get('Destination')).toBe('102');
    expect(cdr.get('DestinationContext')).toBe(`acct-${ACCOUNT}`);
    expect(cdr.get('DestinationChannel')).toMatch(new RegExp(`^PJSIP/${BOB}-`));
    // No RC_CALL_ID on a phone's own call: the row's options substitute to nothing, the Dial is as before.
    expect(cdr.get('LastData')).toBe(`PJSIP/${BOB},30,`);
    expect(cdr.get('CallerID')).toBe('"101" <101>');
    expect(cdr.get('UserField')).toBe('');
    expect(cdr.get('Disposition')).toBe('ANSWERED');
    expect(Math.abs(Number(cdr.get('BillableSeconds')) - TALK_S)).toBeLessThanOrEqual(1);
    expect(ami.eventsNamed('HangupRequest', { Channel: body.channel })).toHaveLength(1);
    expect(ami.eventsNamed('MixMonitorStart', { Channel: body.channel })).toHaveLength(0);
    expect(existsSync(path.join(recordings, `${body.uniqueid}.wav`))).toBe(false);
    // The colleague's phone is shown the caller's own identity (its endpoint's caller id), as without options.
    const begin = ami.eventsNamed('DialBegin', { Channel: body.channel })[0];
    expect([begin.get('DestConnectedLineNum'), begin.get('DestConnectedLineName')]).toEqual(['101', '101']);
    expect(ami.eventsNamed('Newexten', { Channel: body.channel, Application: 'Dial' }).map((e) => e.get('AppData'))).toEqual([`PJSIP/${BOB},30,`]);
  });

  it("shows a colleague called by click-to-call the calling employee, not the originate's caller id (Dial f(), fixture 50)", async () => {
    // The adapter's originate: CallerID "<number dialled>" <employee's extension>, RC_CALL_ID set.
    const reply = await ami.action('Originate', {
      Channel: `PJSIP/${ALICE}`,
      Context: `acct-${ACCOUNT}`,
      Exten: '102',
      Priority: '1',
      Async: 'true',
      Timeout: '30000',
      CallerID: '"102" <101>',
      ActionID: 'colleague',
      Variable: ['RC_CALL_ID=colleague', `RC_ACCOUNT=${ACCOUNT}`, `RC_USER=${ALICE}`],
    });
    expect(reply.get('Response')).toBe('Success');
    const legA = (await ami.waitEvent('OriginateResponse', { ActionID: 'colleague' })).get('Channel')!;
    const dial = await ami.waitEvent('Newexten', { Channel: legA, Application: 'Dial' });
    expect(dial.get('AppData')).toBe(`PJSIP/${BOB},30,f(101 <101>)`);
    const begin = await ami.waitEvent('DialBegin', { Channel: legA, DestChannel: new RegExp(`^PJSIP/${BOB}-`) });
    const legB = begin.get('DestChannel')!;
    const party = (m: AmiMessage, prefix = '') => [m.get(`${prefix}ConnectedLineNum`), m.get(`${prefix}ConnectedLineName`)];
    // Without f() B would be shown the originate's caller id, "102" <101> (fixture 47).
    expect(party(begin, 'Dest')).toEqual(['101', '101']);
    expect(party(await ami.waitEvent('NewConnectedLine', { Channel: legB }))).toEqual(['101', '101']);
    expect(party(await ami.waitEvent('Newstate', { Channel: legB, ChannelStateDesc: 'Ringing' }))).toEqual(['101', '101']);
    expect(party((await ami.waitEvent('DialEnd', { Channel: legA, DestChannel: legB })), 'Dest')).toEqual(['101', '101']);
    const { hangup, cdrs } = await callRecords(legA);
    // The caller's own identity is left alone: the Cdr and its channel still say "102" <101>.
    expect([hangup.get('CallerIDNum'), hangup.get('CallerIDName')]).toEqual(['101', '102']);
    const [cdr] = cdrOf(cdrs, legA);
    expect([cdr.get('CallerID'), cdr.get('LastApplication'), cdr.get('LastData'), cdr.get('Disposition')]).toEqual([
      '"102" <101>',
      'Dial',
      `PJSIP/${BOB},30,f(101 <101>)`,
      'ANSWERED',
    ]);
  });

  it('dials an unregistered extension as CHANUNAVAIL', async () => {
    const res = await control('/calls/internal', { from_user: ALICE, to_num: '103' });
    const body = (await res.json()) as { channel: string; uniqueid: string; did?: string };
    await ami.waitEvent('VarSet', { Channel: body.channel, Variable: 'DIALSTATUS', Value: 'CHANUNAVAIL' });
    const { cdrs } = await callRecords(body.channel);
    expect(cdrOf(cdrs, body.channel)[0].get('Disposition')).toBe('FAILED');
    // No channel for the unregistered phone (no DialBegin), and the extension's Hangup() ends the
    // call: nothing is dialled through the trunk.
    expect(ami.eventsNamed('DialBegin', { Channel: body.channel }).map((e) => e.get('DialString'))).toEqual([]);
  });

  it('falls through from an extension without its Hangup() into rc-outbound when the phone is busy, as Asterisk does (rows from before issue 7, or removed while it rang), and ends there without dialling the trunk', async () => {
    const FRANK = '700000006';
    await provisionUser(db, { user: FRANK, account: ACCOUNT, num: '106', hangup: false });
    await ami.waitEvent('ContactStatus', { AOR: FRANK }, 10_000);
    await control(`/devices/${FRANK}/register`, { behaviour: 'busy' });
    try {
      const res = await control('/calls/internal', { from_user: ALICE, to_num: '106' });
      const body = (await res.json()) as { channel: string };
      await ami.waitEvent('VarSet', { Channel: body.channel, Variable: 'DIALSTATUS', Value: 'BUSY' });
      // Priority 2 of 106 is not in the realtime rows: rc-outbound's `_X.` (included by acct-N) has one,
      // and its MixMonitor has no file name for a channel whose Dial failed: the call ends there.
      const mixMonitor = await ami.waitEvent('Newexten', { Channel: body.channel, Application: 'MixMonitor' }, 5000);
      expect([mixMonitor.get('Context'), mixMonitor.get('Priority'), mixMonitor.get('AppData')]).toEqual([`acct-${ACCOUNT}`, '3', '']);
      await callRecords(body.channel);
      expect(ami.eventsNamed('DialBegin', { Channel: body.channel }).map((e) => e.get('DialString'))).toEqual(['700000006']);
    } finally {
      await db.query('DELETE FROM extensions WHERE exten = $1', ['106']);
      await db.query('DELETE FROM ps_endpoints WHERE id = $1', [FRANK]);
    }
  });

  it("ends an inbound call whose number's route leads to an extension without rows in rc-outbound, never dialling it out through the trunk", async () => {
    // A number still routed to extension 109 while that user's rows are gone (deleted or renumbered
    // by another adapter replica a moment earlier): acct-N has no 109, rc-outbound's `_X.` matches.
    const ORPHAN_DID = '74951230109';
    await assignDid(db, { did: ORPHAN_DID, account: ACCOUNT, num: '109' });
    try {
      const res = await control('/calls/inbound', { from: '79165550001', to: ORPHAN_DID });
      const body = (await res.json()) as { channel: string };
      expect(body.channel).toMatch(/^PJSIP\/trunk-/);
      const mixMonitors = () => ami.eventsNamed('Newexten', { Channel: body.channel, Application: 'MixMonitor' });
      await eventually(async () => mixMonitors().length >= 2, 5000, 'two MixMonitor steps');
      // The route's own recording, then rc-outbound's, refused: the trunk's channel is no caller of the account's.
      expect(mixMonitors().map((e) => [e.get('Context'), e.get('Priority'), e.get('AppData')])).toEqual([
        ['from-pstn', '2', `/var/spool/asterisk/monitor/${mixMonitors()[0].get('Uniqueid')}.wav`],
        [`acct-${ACCOUNT}`, '3', ''],
      ]);
      await callRecords(body.channel);
      await new Promise((r) => setTimeout(r, 200));
      expect(ami.eventsNamed('DialBegin', { Channel: body.channel })).toEqual([]);
      expect(ami.eventsNamed('Newexten', { Channel: body.channel, Application: 'Dial' })).toEqual([]);
    } finally {
      await db.query("DELETE FROM extensions WHERE context = 'from-pstn' AND exten = $1", [ORPHAN_DID]);
    }
  });

  it.each([
    ['no_answer', 'u'],
    ['busy', 'b'],
  ] as const)('leaves a voicemail when the phone does not take the call (%s: greeting %s)', async (behaviour, option) => {
    await control(`/devices/${BOB}/register`, { behaviour });
    try {
      const before = (await (await fetch(`http://127.0.0.1:${sim.controlPort}/voicemail/acct-${ACCOUNT}/102`)).json()) as { messages: unknown[] };
      const res = await control('/calls/inbound', { from: '79165550000', to: DID });
      const body = (await res.json()) as { channel: string };
      const vm = await ami.waitEvent('Newexten', { Channel: body.channel, Application: 'VoiceMail' }, 5000);
      expect(vm.get('AppData')).toBe(`102@acct-${ACCOUNT},${option}`);
      const mwi = await ami.waitEvent('MessageWaiting', { Channel: body.channel }, 5000);
      expect([mwi.get('Mailbox'), mwi.get('Waiting'), mwi.get('New'), mwi.get('Old')]).toEqual([`102@acct-${ACCOUNT}`, '1', String(before.messages.length + 1), '0']);
      await ami.waitEvent('VarSet', { Channel: body.channel, Variable: 'VMSTATUS', Value: 'SUCCESS' });
      await callRecords(body.channel);
      const after = (await (await fetch(`http://127.0.0.1:${sim.controlPort}/voicemail/acct-${ACCOUNT}/102`)).json()) as {
        messages: { file: string; seconds: number; callerid: string }[];
      };
      expect(after.messages).toHaveLength(before.messages.length + 1);
      const msg = after.messages.at(-1)!;
      expect(msg.file).toBe(path.join(recordings, 'voicemail', `acct-${ACCOUNT}`, '102', 'INBOX', `msg${String(before.messages.length).padStart(4, '0')}.wav`));
      expect(msg.callerid).toBe('"" <79165550000>');
      expect(Math.abs(wavDuration(readFileSync(msg.file)) - TALK_S)).toBeLessThan(1);
    } finally {
      await control(`/devices/${BOB}/register`, { behaviour: 'answer' });
    }
  });

  it('follows registrations in contact events, device states, DeviceStateList and PJSIPShowContacts', async () => {
    expect((await control(`/devices/${BOB}/unregister`)).status).toBe(200);
    // Qualified and reachable until now (pjsip_options.c: Removed, then the endpoint goes off line).
    await ami.waitEvent('PeerStatus', { Peer: `PJSIP/${BOB}`, PeerStatus: 'Unreachable' });
    await ami.waitEvent('ContactStatus', { AOR: BOB, ContactStatus: 'Removed', RoundtripUsec: '0' });
    await ami.waitEvent('DeviceStateChange', { Device: `PJSIP/${BOB}`, State: 'UNAVAILABLE' });
    const list = await ami.action('DeviceStateList', { ActionID: 'dsl' });
    expect(list.get('EventList')).toBe('start');
    await ami.waitEvent('DeviceStateListComplete', { ActionID: 'dsl' });
    const states = Object.fromEntries(ami.eventsNamed('DeviceStateChange', { ActionID: 'dsl' }).map((e) => [e.get('Device'), e.get('State')]));
    expect(states[`PJSIP/${ALICE}`]).toBe('NOT_INUSE');
    expect(states[`PJSIP/${BOB}`]).toBe('UNAVAILABLE');
    expect(states['PJSIP/trunk']).toBe('NOT_INUSE');
    await ami.action('PJSIPShowContacts', { ActionID: 'pc' });
    await ami.waitEvent('ContactListComplete', { ActionID: 'pc' });
    // (A deleted user's contact may still be listed: Asterisk keeps it.)
    const listed = ami.eventsNamed('ContactList', { ActionID: 'pc' }).filter((e) => [ALICE, BOB].includes(e.get('Endpoint')!));
    expect(listed.map((e) => [e.get('Endpoint'), e.get('Status'), e.get('QualifyFrequency')])).toEqual([[ALICE, 'Reachable', '60']]);
    const detail = await ami.action('PJSIPShowEndpoint', { Endpoint: BOB, ActionID: 'pe' });
    expect(detail.get('Response')).toBe('Success');
    const endpoint = await ami.waitEvent('EndpointDetail', { ActionID: 'pe' });
    expect(endpoint.get('Context')).toBe(`acct-${ACCOUNT}`);
    expect(endpoint.get('Mailboxes')).toBe(`102@acct-${ACCOUNT}`);
    expect(endpoint.get('DeviceState')).toBe('Unavailable');
    expect((await ami.waitEvent('AuthDetail', { ActionID: 'pe' })).get('AuthType')).toBe('md5');
    expect((await ami.waitEvent('AorDetail', { ActionID: 'pe' })).get('ContactsRegistered')).toBe('0');
    expect((await control(`/devices/${BOB}/register`, { behaviour: 'answer', uri: 'sip:bob@127.0.0.1:5180', user_agent: 'test-phone' })).status).toBe(200);
    await ami.waitEvent('ContactStatus', { AOR: BOB, ContactStatus: 'NonQualified', URI: 'sip:bob@127.0.0.1:5180' });
    await ami.waitEvent('PeerStatus', { Peer: `PJSIP/${BOB}`, PeerStatus: 'Reachable' });
    await ami.waitEvent('ContactStatus', { AOR: BOB, ContactStatus: 'Reachable' });
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
      await control(`/devices/${BOB}/register`, { behaviour: 'answer' });
    }
  });

  it('registers newly provisioned phones as Asterisk shows them (qualified, or silently), and keeps their contacts silently when they are deleted', async () => {
    const DAVE = '700000004';
    const ERIN = '700000005';
    await provisionUser(db, { user: DAVE, account: ACCOUNT, num: '104' });
    await provisionUser(db, { user: ERIN, account: ACCOUNT, num: '105', qualify: null });
    const first = await ami.waitEvent('ContactStatus', { AOR: DAVE }, 10_000);
    expect([first.get('ContactStatus'), first.get('RoundtripUsec')]).toEqual(['NonQualified', '0']);
    await ami.waitEvent('DeviceStateChange', { Device: `PJSIP/${DAVE}`, State: 'NOT_INUSE' }, 10_000);
    // Without qualify_frequency: registered (the contact is there), but no event and UNAVAILABLE (fixture 30).
    // The phone registers at the simulator's next look at the tables, which may come after DAVE's: ask until it has.
    const contacts = async (actionId: string) => {
      await ami.action('PJSIPShowContacts', { ActionID: actionId });
      await ami.waitEvent('ContactListComplete', { ActionID: actionId });
      return ami.eventsNamed('ContactList', { ActionID: actionId }).map((e) => e.get('Endpoint'));
    };
    let asked = 0;
    await eventually(async () => (await contacts(`pc2-${++asked}`)).includes(ERIN), 10_000, `${ERIN} registered`);
    expect((await ami.action('Getvar', { Variable: `DEVICE_STATE(PJSIP/${ERIN})` })).get('Value')).toBe('UNAVAILABLE');
    expect(ami.events.filter((e) => e.get('ActionID') === undefined && e.headers.some(([, v]) => v.includes(ERIN)))).toEqual([]);
    // The user deleted: Asterisk says nothing, and the contacts stay listed (fixtures 52, 53; the lab).
    const before = ami.events.length;
    await db.query('DELETE FROM ps_endpoints WHERE id = ANY($1)', [[DAVE, ERIN]]);
    await sim.pollProvisioning();
    await sim.pollProvisioning(); // the first may have joined a poll that read the table before the DELETE
    expect((await contacts('pc3')).filter((e) => e === DAVE || e === ERIN).sort()).toEqual([DAVE, ERIN]);
    const about = (user: string) => ami.events.slice(before).filter((e) => e.get('ActionID') === undefined && e.headers.some(([, v]) => v.includes(user)));
    expect([...about(DAVE), ...about(ERIN)]).toEqual([]);
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

  it('reloads the dial plan over AMI: the globals as VarSet, a new account context', async () => {
    await provisionUser(db, { user: '700000009', account: 8, num: '201' });
    const before = await ami.action('Originate', { Channel: 'Local/201@acct-8', Context: 'acct-8', Exten: '201', Priority: '1', Async: 'true', ActionID: 'pre' });
    expect(before.get('Response')).toBe('Success');
    expect((await ami.waitEvent('OriginateResponse', { ActionID: 'pre' })).get('Response')).toBe('Failure');
    const reload = await ami.action('Command', { Command: 'dialplan reload' });
    expect(reload.get('Output')).toBe('Dialplan reloaded.');
    const vars = [await ami.waitEvent('VarSet', { Variable: 'RECDIR', Channel: 'none' }), await ami.waitEvent('VarSet', { Variable: 'TRUNK', Channel: 'none' })];
    expect(vars.map((v) => [v.get('Uniqueid'), v.get('Value')])).toEqual([
      ['none', '/var/spool/asterisk/monitor'],
      ['none', 'trunk'],
    ]);
    expect(sim.engine.dialplan.hasContext('acct-8')).toBe(true);
  });

  it("leaves a voicemail when the phone is not registered: one CDR, the Dial's, answered by the mailbox (fixture 46)", async () => {
    expect((await control(`/devices/${BOB}/unregister`)).status).toBe(200);
    try {
      const res = await control('/calls/inbound', { from: '79165550001', to: DID });
      const body = (await res.json()) as { channel: string };
      await ami.waitEvent('VarSet', { Channel: body.channel, Variable: 'DIALSTATUS', Value: 'CHANUNAVAIL' }, 5000);
      const vm = await ami.waitEvent('Newexten', { Channel: body.channel, Application: 'VoiceMail' }, 5000);
      expect(vm.get('AppData')).toBe(`102@acct-${ACCOUNT},u`);
      await ami.waitEvent('VarSet', { Channel: body.channel, Variable: 'VMSTATUS', Value: 'SUCCESS' });
      const { cdrs } = await callRecords(body.channel);
      const mine = cdrOf(cdrs, body.channel).map((c) => [c.get('LastApplication'), c.get('LastData'), c.get('Disposition'), c.get('DestinationChannel'), c.get('Destination')]);
      expect(mine).toEqual([['Dial', `PJSIP/${BOB},30,`, 'ANSWERED', '', '102']]);
      expect(ami.eventsNamed('DialBegin', { Channel: body.channel })).toEqual([]);
    } finally {
      await control(`/devices/${BOB}/register`, { behaviour: 'answer' });
    }
  });

});
