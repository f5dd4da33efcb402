import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { writeRecording } from '../engine/recording';
import type { PhoneBehaviour } from '../engine/devices';
import type { SimulatorConfig } from '../simulator';
import { TestSchema, assignDid, provisionUser } from '../testing/realtime-schema';
import { control, type LabContext, type LabScenario } from './second-lab';

/**
 * Scenarios 40–45 (the third lab, fixtures/ami/NOTES.md): docker/asterisk as shipped (only
 * addresses, secrets and folders changed), users of account 1001 created through the API while
 * Asterisk ran, so the rows are the adapter's own (qualify_frequency 60; extensions `1 Dial` and,
 * with voicemail, `2 VoiceMail`, `3 Hangup` — recorded before every extension got its Hangup, and
 * before the Dial got its options: `PJSIP/<user>,30`),
 * inbound numbers routed by the adapter's from-pstn rows, SIPp phones and a SIPp PSTN.
 */

export const THIRD_LAB_ACCOUNT = 1001;

export interface LabUser {
  id: string;
  num: string;
  voicemail?: boolean;
  /** The SIPp phone's contact (ContactList Uri; the hash of ObjectName is derived from it). */
  uri: string;
}

/** The caller of 40/41 and the user of 42 ("user A": its phone answers), registered and qualified before the recordings. */
const A: LabUser = { id: '5683032995', num: '901', uri: 'sip:5683032995@127.0.0.1:15061' };
/** Voicemail on; its phone rings and never answers (40, 43) or answers 486 (41). */
const B: LabUser = { id: '8416832583', num: '902', voicemail: true, uri: 'sip:8416832583@127.0.0.1:15062' };
const U44: LabUser = { id: '4353794912', num: '944', uri: 'sip:4353794912@127.0.0.1:15044' };
const U45: LabUser = { id: '9419640985', num: '945', uri: 'sip:9419640985@127.0.0.1:15045' };

async function provision(db: TestSchema, ...users: LabUser[]): Promise<void> {
  for (const u of users) await provisionUser(db, { user: u.id, account: THIRD_LAB_ACCOUNT, num: u.num, voicemail: u.voicemail, hangup: !!u.voicemail, plainDial: true });
  await assignDid(db, { did: '74951234567', account: THIRD_LAB_ACCOUNT, num: A.num });
  await assignDid(db, { did: '74951234568', account: THIRD_LAB_ACCOUNT, num: B.num });
}


const register = (ctx: LabContext, u: LabUser, behaviour: 'answer' | 'busy' | 'no_answer' = 'answer') =>
  control(ctx.sim, `/devices/${u.id}/register`, { uri: u.uri, user_agent: 'sipp-lab-phone', behaviour });

/**
 * A phone registered (and qualified: Reachable) before the recording started: no event during it.
 * `hangsUp`: it sends BYE the talk time after it answered a call an Originate rang it for.
 */
export async function registeredBefore(ctx: LabContext, u: LabUser, behaviour: PhoneBehaviour = 'answer', hangsUp = false): Promise<void> {
  const ep = await ctx.sim.engine.realtime.findEndpoint(u.id);
  if (!ep) throw new Error(`no endpoint ${u.id}`);
  await ctx.sim.engine.phones.register(ep, { uri: u.uri, userAgent: 'sipp-lab-phone', behaviour, hangsUp }, true);
}

/** Messages 902's mailbox held from the earlier scenarios of the lab (41: one, from 40; 43: three). */
async function messagesBefore(ctx: LabContext, count: number): Promise<void> {
  const dir = path.join(ctx.sim.engine.config.voicemailDir, `acct-${THIRD_LAB_ACCOUNT}`, B.num, 'INBOX');
  await mkdir(dir, { recursive: true });
  for (let i = 0; i < count; i++) {
    const base = path.join(dir, `msg${String(i).padStart(4, '0')}`);
    await writeRecording(`${base}.wav`, 1);
    await writeFile(`${base}.txt`, `[message]\norigmailbox=${B.num}\ncallerid="901" <901>\nduration=1\n`);
  }
}

/** The account's context is loaded (the adapter's `dialplan reload` when its first user was created). */
async function users(ctx: LabContext, ...list: LabUser[]): Promise<void> {
  await provision(ctx.db, ...list);
  await ctx.sim.engine.dialplan.load();
}

export const THIRD_LAB_SCENARIOS: LabScenario[] = [
  {
    name: '40-voicemail-no-answer',
    scale: 0.4,
    // The caller hung up 20.2 s after the mailbox answered (+32.696 → +52.901).
    talkMs: 20_205,
    // 902 was not qualified during the recording (no PeerStatus): its first OPTIONS came later.
    qualifyDelayMs: 120_000,
    prepare: async (ctx) => {
      await users(ctx, A, B);
      await registeredBefore(ctx, A);
    },
    side: (ctx) => [
      { t: 0.951, run: () => register(ctx, B, 'no_answer') },
      { t: 2.65, run: () => control(ctx.sim, '/calls/internal', { from_user: A.id, to_num: B.num }) },
    ],
  },
  {
    name: '41-voicemail-busy',
    scale: 0.4,
    // The caller hung up 20.2 s after the mailbox answered (+2.712 → +22.930).
    talkMs: 20_218,
    // Asterisk's first OPTIONS came 0.5 s after the REGISTER (+1.018 → +1.521).
    qualifyDelayMs: 503,
    prepare: async (ctx) => {
      await users(ctx, A, B);
      await registeredBefore(ctx, A);
      await messagesBefore(ctx, 1);
    },
    side: (ctx) => [
      { t: 1.018, run: () => register(ctx, B, 'busy') },
      { t: 2.712, run: () => control(ctx.sim, '/calls/internal', { from_user: A.id, to_num: B.num }) },
    ],
  },
  {
    name: '42-inbound-did-answered',
    scale: 0.4,
    // 901's phone answered after 1 s (+1.023 → +2.029); the PSTN caller hung up 15.2 s later.
    talkMs: 15_225,
    prepare: async (ctx) => {
      await users(ctx, A, B);
      await registeredBefore(ctx, A);
    },
    side: (ctx) => [{ t: 0.977, run: () => control(ctx.sim, '/calls/inbound', { from: '74950001122', to: '74951234567' }) }],
  },
  {
    name: '43-inbound-did-voicemail',
    scale: 0.4,
    // The PSTN caller hung up 22.2 s after the mailbox answered (+32.651 → +54.865).
    talkMs: 22_214,
    qualifyDelayMs: 503,
    prepare: async (ctx) => {
      await users(ctx, A, B);
      await registeredBefore(ctx, A);
      await messagesBefore(ctx, 3);
    },
    side: (ctx) => [
      { t: 0.928, run: () => register(ctx, B, 'no_answer') },
      { t: 2.575, run: () => control(ctx.sim, '/calls/inbound', { from: '74950007788', to: '74951234568' }) },
    ],
  },
  {
    name: '44-contact-register-unregister-qualified',
    scale: 0.4,
    // The first OPTIONS 13.5 s after the REGISTER (+1.211 → +14.752).
    qualifyDelayMs: 13_541,
    prepare: (ctx) => users(ctx, A, B, U44),
    side: (ctx) => [
      { t: 1.211, run: () => register(ctx, U44) },
      // REGISTER Expires: 0 from the same socket.
      { t: 16.945, run: () => control(ctx.sim, `/devices/${U44.id}/unregister`) },
    ],
  },
  {
    name: '45-originate-registered-qualified',
    scale: 0.4,
    // The PSTN's SIPp answered and sent BYE 5 s later.
    talkMs: 5_005,
    // The first OPTIONS came 49 s after the REGISTER, after the recording.
    qualifyDelayMs: 49_000,
    prepare: async (ctx) => {
      await users(ctx, A, B, U45);
      await registeredBefore(ctx, A);
    },
    side: (ctx) => [{ t: 1.153, run: () => register(ctx, U45) }],
  },
];

const LABS_40_54_DIALPLAN = path.resolve(__dirname, '../../fixtures/ami/extensions-40-54.conf');

/** Simulator settings of a third-lab scenario: docker/asterisk as shipped. */
export function thirdLabConfig(s: LabScenario): Partial<SimulatorConfig> {
  return {
    // docker/asterisk/extensions.conf as the labs of 40–54 ran it: rc-outbound's Dial without the
    // f(<number>) that presents the employee's own number (45 dials out).
    dialplanFile: LABS_40_54_DIALPLAN,
    cel: false,
    // The third lab's Asterisk autoloaded its modules (docker/asterisk before 12c526e): res_mwi_devstate too.
    mwiDevstate: true,
    timeScale: s.scale,
    // Phones answered after a second (Ringing → Up: 1.0 s in 42 and 45), the PSTN's SIPp after 0.5 s (45).
    answerDelayMs: 1000 * s.scale,
    pstnAnswerDelayMs: 506 * s.scale,
    talkMs: (s.talkMs ?? 3000) * s.scale,
    qualifyDelayMs: (s.qualifyDelayMs ?? 200) * s.scale,
    autoRegister: false,
    provisioningPollMs: 0,
  };
}
