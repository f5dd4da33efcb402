import type { RunningSimulator, SimulatorConfig } from '../simulator';
import { SECOND_LAB } from '../testing/first-lab';
import { TestSchema } from '../testing/realtime-schema';
import type { Reaction, SideAction } from './replay';

/**
 * Scenarios 30–38 (the second lab, fixtures/ami/NOTES.md): the PBX was docker/asterisk as of
 * 19b5d72 with the trunk enabled, users of account 999999 provisioned as the adapter wrote them
 * then (qualify_frequency NULL, except labtest4), SIPp phones and a SIPp PSTN behind the trunk.
 * Each scenario says what the world did around the recorded AMI session: rows written, phones
 * registered (at the moment the recording shows), calls placed by phones or the PSTN, the trunk
 * killed.
 */

export const ACCOUNT = 999999;
const CONTEXT = `acct-${ACCOUNT}`;

/** Endpoints that existed when the lab's Asterisk started (30's DeviceStateList: UNAVAILABLE, never registered). */
export const STARTUP_ENDPOINTS = ['6690397771', '1265149290', '7765233728', '8120869352', '3837100328', '7488353719'];

interface LabUser {
  id: string;
  num: string;
  /** md5_cred as AuthDetail printed it. */
  md5: string;
  qualify: number | null;
  /** The SIPp phone's contact (AorDetail Contacts / ContactStatusDetail URI). */
  uri: string;
}

const LABTEST: LabUser = { id: 'labtest', num: '901', md5: '2186ae7bfb8a832d05c115f5b267d8be', qualify: null, uri: 'sip:labtest@127.0.0.1:5161' };
const LABTEST2: LabUser = { id: 'labtest2', num: '902', md5: 'c1a5e6e2a2b7c3d4e5f60718293a4b5c', qualify: null, uri: 'sip:labtest2@127.0.0.1:5162' };
const LABTEST4: LabUser = { id: 'labtest4', num: '904', md5: '8853a7e58207c6af131df742cf9f53e9', qualify: 60, uri: 'sip:labtest4@127.0.0.1:5165' };

/** Rows as ProvisioningService.apply() wrote them at 19b5d72 (one transaction per user). */
async function provision(db: TestSchema, u: LabUser): Promise<void> {
  await db.query(
    `INSERT INTO ps_endpoints (id, transport, aors, auth, context, disallow, allow, direct_media, dtmf_mode, force_rport, rewrite_contact, rtp_symmetric, callerid, mailboxes, accountcode)
     VALUES ($1, 'transport-udp', $1, $1, $2, 'all', 'ulaw,alaw', 'no', 'rfc4733', 'yes', 'yes', 'yes', $3, NULL, $4)`,
    [u.id, CONTEXT, `"${u.num}" <${u.num}>`, String(ACCOUNT)],
  );
  await db.query(`INSERT INTO ps_auths (id, auth_type, username, realm, md5_cred) VALUES ($1, 'md5', $1, 'ringcloud', $2)`, [u.id, u.md5]);
  await db.query(`INSERT INTO ps_aors (id, max_contacts, remove_existing, qualify_frequency) VALUES ($1, 1, 'yes', $2)`, [u.id, u.qualify]);
  await db.query(`INSERT INTO extensions (context, exten, priority, app, appdata) VALUES ($1, $2, 1, 'Dial', $3)`, [CONTEXT, u.num, `PJSIP/${u.id},30`]);
}

/** The start-up endpoints: left over from earlier runs of the lab, in the database before Asterisk started. */
export async function beforeStart(db: TestSchema): Promise<void> {
  for (const id of STARTUP_ENDPOINTS) {
    await db.query(`INSERT INTO ps_endpoints (id, transport, aors, auth, context) VALUES ($1, 'transport-udp', $1, $1, NULL)`, [id]);
    await db.query(`INSERT INTO ps_aors (id, max_contacts, remove_existing) VALUES ($1, 1, 'yes')`, [id]);
  }
}

/** POST to the simulator's control API; anything but 2xx throws. */
export const control = (sim: RunningSimulator, p: string, body: unknown = {}) =>
  fetch(`http://127.0.0.1:${sim.controlPort}${p}`, { method: 'POST', body: JSON.stringify(body) }).then(async (r) => {
    if (!r.ok) throw new Error(`${p}: ${r.status} ${await r.text()}`);
  });

const register = (sim: RunningSimulator, u: LabUser) => control(sim, `/devices/${u.id}/register`, { uri: u.uri, user_agent: 'sipp-lab-phone' });

export interface LabContext {
  db: TestSchema;
  sim: RunningSimulator;
}

export interface LabScenario {
  name: string;
  /** Wall time per PBX second. */
  scale: number;
  /** PBX milliseconds (the simulator's wall settings are derived with `scale`). */
  talkMs?: number;
  qualifyDelayMs?: number;
  /** After the simulator started, before the client connects. */
  prepare(ctx: LabContext): Promise<void>;
  /** During the recording, at the recorded times. */
  side?(ctx: LabContext): SideAction[];
  /** Recorded client actions sent in reaction to a server event instead of at their recorded times (replay.ts `Reaction`). */
  reactions?: Reaction[];
}

/** The users of 30 were provisioned after Asterisk started; later scenarios found the account's context loaded (30's reload). */
async function users(ctx: LabContext, ...list: LabUser[]): Promise<void> {
  for (const u of list) await provision(ctx.db, u);
  await ctx.sim.engine.dialplan.load();
}

export const SECOND_LAB_SCENARIOS: LabScenario[] = [
  {
    name: '30-device-state-after-provisioning',
    scale: 0.4,
    // [psql labtest, labtest2] after the login, before the client's `dialplan reload` (NOTES.md).
    prepare: async ({ db }) => {
      await provision(db, LABTEST);
      await provision(db, LABTEST2);
    },
    // REGISTER 200 at +1.8 s: no event at all.
    side: ({ sim }) => [{ t: 1.8, run: () => register(sim, LABTEST) }],
  },
  {
    name: '31-device-state-with-qualify',
    scale: 0.4,
    // The first OPTIONS came 30.9 s after the REGISTER (ContactStatus NonQualified +1.044, Reachable +31.979).
    qualifyDelayMs: 30_935,
    prepare: async (ctx) => {
      await users(ctx, LABTEST, LABTEST2, LABTEST4);
      // labtest3 of the first attempt (31a): qualified, then its phone went away; the cache kept it UNAVAILABLE.
      ctx.sim.engine.devices.seed('PJSIP/labtest3', 'UNAVAILABLE');
    },
    side: ({ sim }) => [{ t: 1.044, run: () => register(sim, LABTEST4) }],
  },
  {
    name: '32-originate-outbound-answered',
    scale: 0.4,
    // The PSTN answered, talked 20 s and hung up (BYE at +22.58).
    talkMs: 20_000,
    prepare: async (ctx) => {
      await users(ctx, LABTEST, LABTEST2);
      await register(ctx.sim, LABTEST);
    },
  },
  {
    name: '33-originate-outbound-busy',
    scale: 0.4,
    prepare: async (ctx) => {
      await users(ctx, LABTEST, LABTEST2);
      await register(ctx.sim, LABTEST);
    },
  },
  {
    name: '34-originate-outbound-no-answer',
    scale: 0.4,
    prepare: async (ctx) => {
      await users(ctx, LABTEST, LABTEST2);
      await register(ctx.sim, LABTEST);
    },
  },
  {
    name: '35-originate-outbound-trunk-down',
    scale: 0.4,
    prepare: async (ctx) => {
      await users(ctx, LABTEST, LABTEST2);
      await register(ctx.sim, LABTEST);
      // The lab killed the PSTN's SIPp.
      await control(ctx.sim, '/trunk/down');
    },
  },
  {
    name: '36-internal-call',
    scale: 0.4,
    // labtest's phone hung up 5 s after the answer.
    talkMs: 5_000,
    prepare: async (ctx) => {
      await users(ctx, LABTEST, LABTEST2);
      await register(ctx.sim, LABTEST);
      await register(ctx.sim, LABTEST2);
    },
    side: ({ sim }) => [{ t: 0.665, run: () => control(sim, '/calls/internal', { from_user: LABTEST.id, to_num: LABTEST2.num }) }],
  },
  {
    name: '37-inbound-from-trunk',
    scale: 0.4,
    prepare: (ctx) => users(ctx, LABTEST, LABTEST2),
    side: ({ sim }) => [{ t: 0.623, run: () => control(sim, '/calls/inbound', { from: '74950001122', to: '74951234567' }) }],
  },
  {
    name: '38-originate-user-not-registered',
    scale: 0.4,
    prepare: (ctx) => users(ctx, LABTEST, LABTEST2),
  },
];

/** Simulator settings of a second-lab scenario. */
export function secondLabConfig(s: LabScenario): Partial<SimulatorConfig> {
  return {
    ...SECOND_LAB,
    timeScale: s.scale,
    // Phones and the PSTN answered after a second (Newstate Ringing → Up: 1.0 s in 32–36).
    answerDelayMs: 1000 * s.scale,
    talkMs: (s.talkMs ?? 3000) * s.scale,
    qualifyDelayMs: (s.qualifyDelayMs ?? 200) * s.scale,
    // The phones register when the scenario says so.
    autoRegister: false,
    provisioningPollMs: 0,
  };
}
