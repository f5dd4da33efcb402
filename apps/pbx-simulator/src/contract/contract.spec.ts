import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Header } from '../ami/protocol';
import { memoryLogger } from '../log';
import { startSimulator } from '../simulator';
import { TestSchema, createRealtimeSchema } from '../testing/realtime-schema';
import { compareMessages } from './compare';
import { ReplayResult, replay } from './replay';
import { FIRST_LAB } from '../testing/first-lab';
import { Transcript, deviceStateClient, loadFixture, parseRawServerStream, parseTranscript } from './transcript';

/**
 * The contract: every recorded scenario, replayed against a fresh simulator with the recording's
 * client timing (scaled), must produce the recording's server side (see compare.ts for exactly
 * what "the same" means).
 */

const SCALE = 0.4;
const USER = '1679728441';


const TIMED = [
  '00-login-failure',
  '01-originate-success',
  '02-originate-B-busy-000',
  '03-originate-B-congestion-999',
  '04-originate-fail-no-such-channel-type',
  '05-originate-fail-local-no-such-context',
  '06-originate-agent-busy',
  '07-originate-agent-no-answer-timeout',
  '08-originate-dial-acct-1002-success',
  '09-originate-dial-acct-1002-B-busy',
  '10-inbound-dial-agent',
  '11-inbound-queue',
  '12-originate-sync-success',
  '20-pjsip-originate',
];

function transcriptOf(name: string): Transcript {
  if (name.startsWith('21') || name.startsWith('22')) {
    return parseRawServerStream(name, loadFixture(`${name}.rx.raw`), deviceStateClient(USER, 'crm', 'crmsecret'));
  }
  return parseTranscript(name, loadFixture(`${name}.txt`));
}

let db: TestSchema;
let recordings: string;
const results = new Map<string, ReplayResult>();

async function run(name: string, registered: boolean): Promise<ReplayResult> {
  const sim = await startSimulator({
    amiPort: 0,
    controlPort: 0,
    databaseUrl: db.url,
    recordingsDir: path.join(recordings, name),
    timeScale: SCALE,
    answerDelayMs: 1000 * SCALE,
    talkMs: 3000 * SCALE,
    autoRegister: registered,
    ...FIRST_LAB,
    logger: memoryLogger(),
  });
  try {
    // Every recording but 21/22 ends with the server closing (Logoff, failed login); those two need the settle time.
    return await replay(sim.amiPort, transcriptOf(name).client, SCALE, 1000 + 2000 * SCALE);
  } finally {
    await sim.stop();
  }
}

beforeAll(async () => {
  recordings = mkdtempSync(path.join(os.tmpdir(), 'pbx-contract-'));
  db = await createRealtimeSchema();
  // The phone of scenarios 20-22 as the recording's realtime rows described it.
  await db.query(
    `INSERT INTO ps_endpoints (id, transport, aors, auth, context, disallow, allow, direct_media, dtmf_mode, force_rport, rewrite_contact, rtp_symmetric, callerid, media_address, bind_rtp_to_media_address)
     VALUES ($1, 'transport-udp', $1, $1, 'agents-rt', 'all', 'ulaw', 'no', 'rfc4733', 'yes', 'no', 'yes', $2, '127.0.0.1', 'yes')`,
    [USER, `"Agent ${USER}" <${USER}>`],
  );
  await db.query(`INSERT INTO ps_auths (id, auth_type, username, password) VALUES ($1, 'userpass', $1, 'Secret-1')`, [USER]);
  await db.query(`INSERT INTO ps_aors (id, max_contacts, remove_existing) VALUES ($1, 1, 'yes')`, [USER]);
  // Every scenario at once, each against its own simulator: the suite takes as long as the longest.
  const all = [...TIMED.map((n) => [n, true] as const), ['21-device-state-unregistered', false] as const, ['22-device-state-registered', true] as const];
  await Promise.all(all.map(async ([name, registered]) => results.set(name, await run(name, registered))));
}, 60_000);

afterAll(async () => {
  await db?.drop();
  rmSync(recordings, { recursive: true, force: true });
});

describe.each([...TIMED, '21-device-state-unregistered', '22-device-state-registered'])('scenario %s', (name) => {
  it('answers what the recorded Asterisk answered', () => {
    const t = transcriptOf(name);
    const got = results.get(name)!;
    expect(got.banner).toBe(t.banner);
    const res = compareMessages(t.server, got.messages);
    expect(res.problems).toEqual([]);
    expect(got.messages.length).toBe(t.server.length);
  });
});

describe('the comparison can fail', () => {
  const expected = () => parseTranscript('01', loadFixture('01-originate-success.txt')).server;
  const actual = () => results.get('01-originate-success')!.messages;
  const indexOf = (msgs: { headers: Header[] }[] | Header[][], pred: (h: Header[]) => boolean) =>
    msgs.findIndex((m) => pred(Array.isArray(m) ? (m as Header[]) : (m as { headers: Header[] }).headers));
  const is = (event: string, extra?: [string, string]) => (h: Header[]) =>
    h.some(([k, v]) => k === 'Event' && v === event) && (!extra || h.some(([k, v]) => k === extra[0] && v === extra[1]));

  it('passes unmodified (control)', () => {
    expect(compareMessages(expected(), actual()).ok).toBe(true);
  });

  it('fails when an expected event is missing from the recording (the simulator sent an extra one)', () => {
    const exp = expected();
    exp.splice(indexOf(exp, is('MixMonitorStart')), 1);
    expect(compareMessages(exp, actual()).ok).toBe(false);
  });

  it('fails when the simulator leaves an event out', () => {
    const act = actual().slice();
    act.splice(indexOf(act, is('Cdr')), 1);
    const res = compareMessages(expected(), act);
    expect(res.ok).toBe(false);
    expect(res.problems.join('\n')).toMatch(/Cdr/);
  });

  it('fails when two events of one channel swap places inside a burst', () => {
    const act = actual().slice();
    const soft = indexOf(act, is('SoftHangupRequest'));
    const hangup = act.findIndex((h, i) => i > soft && is('Hangup')(h) && h.some(([k, v]) => k === 'Channel' && v === act[soft].find(([n]) => n === 'Channel')![1]));
    [act[soft], act[hangup]] = [act[hangup], act[soft]];
    expect(compareMessages(expected(), act).ok).toBe(false);
  });

  it('fails when an event moves to another burst', () => {
    const act = actual().slice();
    const [cdr] = act.splice(indexOf(act, is('Cdr')), 1);
    act.splice(indexOf(act, is('Newexten', ['Application', 'PlayTones'])), 0, cdr);
    expect(compareMessages(expected(), act).ok).toBe(false);
  });

  it('fails when a key header differs', () => {
    const exp = expected();
    const i = indexOf(exp, is('Hangup'));
    exp[i] = { ...exp[i], headers: exp[i].headers.map(([k, v]) => (k === 'Cause' ? [k, '17'] : [k, v]) as Header) };
    expect(compareMessages(exp, actual()).ok).toBe(false);
  });

  it('fails when one recorded id maps to two different ids', () => {
    const act = actual().map((h) => h.map(([k, v]) => [k, v] as Header));
    const i = act.findLastIndex((h) => is('Hangup')(h));
    act[i] = act[i].map(([k, v]) => (k === 'Linkedid' ? [k, `${v}9`] : [k, v]) as Header);
    expect(compareMessages(expected(), act).ok).toBe(false);
  });
});
