import type { Header } from '../ami/protocol';
import type { SimulatorConfig } from '../simulator';
import { TestSchema, deprovisionUser, provisionUser } from '../testing/realtime-schema';
import type { CompareOptions } from './compare';
import { control, type LabContext, type LabScenario } from './second-lab';
import { fifthLabConfig } from './fifth-lab';
import { LabUser, registeredBefore } from './third-lab';

/**
 * Scenarios 50 and 51 (the sixth lab, fixtures/ami/NOTES.md): docker/asterisk as shipped at
 * fdb0b07, the whole stack against it, users of account 1001 created through the API, and B's
 * extension row 1 rewritten to the Dial the adapter provisions now (`PJSIP/<B>,30,${IF(…f(…))}`:
 * a colleague called by click-to-call is shown the calling employee). Recorded on the adapter's
 * own AMI session by a proxy: the transcript's one client message is the adapter's Originate at
 * +0.000 s, replayed as it is on a session the replay opens beforehand (transcript.ts
 * `openSession`, replay.ts `OpenSession`).
 *
 * Scenarios 52 and 53, the same lab with the extension rows as the adapter wrote them before f()
 * (`Dial(PJSIP/<user>,30)`, `Hangup`) and rc-outbound's guarded MixMonitor: B's phone rings, B's
 * user is deleted 4 s into the ringing (its rows, as the adapter's deprovisioning removes them: a
 * side action, no AMI event), and B answers 486 after 8 s. The Dial's next priority is then not in
 * the realtime rows: rc-outbound's (included by acct-N) runs, Set, then MixMonitor with no file
 * name, which fails and ends the call; nothing is dialled out. 52 is a phone's own call (nothing
 * sent on the session: the call is placed by the control API at +0.000 s), 53 a click-to-call.
 */

export const SIXTH_LAB_ACCOUNT = 1001;

/** User A, the caller: the adapter rings its phone (leg A). Its row was the adapter's of fdb0b07 (no options). */
const A: LabUser = { id: '2079939652', num: '901', uri: 'sip:2079939652@127.0.0.1:15081' };
/** User B, the colleague, with the new Dial row; voicemail off. */
const B: LabUser = { id: '9727349586', num: '902', uri: 'sip:9727349586@127.0.0.1:15082' };
/** B of 52 and 53 (a user created for each run, and deleted while its phone rang); old Dial rows. */
const B52: LabUser = { id: '1434969813', num: '902', uri: 'sip:1434969813@127.0.0.1:15082' };
const B53: LabUser = { id: '9498284448', num: '902', uri: 'sip:9498284448@127.0.0.1:15082' };

/** 52/53: both users with the Dial rows of before f() (`PJSIP/<user>,30`, then Hangup). */
async function provisionOld(db: TestSchema, b: LabUser): Promise<void> {
  await provisionUser(db, { user: A.id, account: SIXTH_LAB_ACCOUNT, num: A.num, plainDial: true });
  await provisionUser(db, { user: b.id, account: SIXTH_LAB_ACCOUNT, num: b.num, plainDial: true });
}

/** The user deleted through the API: the adapter removes its rows (ProvisioningService.remove). */
/** 52/53: A answers; the colleague `b` (rows as written before f()) rings, then answers 486. */
async function colleagueRingsBusy(ctx: LabContext, b: LabUser): Promise<void> {
  await provisionOld(ctx.db, b);
  await ctx.sim.engine.dialplan.load();
  await registeredBefore(ctx, A, 'answer');
  await registeredBefore(ctx, b, 'ring_busy');
}

const deleteUser = (ctx: LabContext, u: LabUser) => deprovisionUser(ctx.db, { user: u.id, account: SIXTH_LAB_ACCOUNT, num: u.num });


async function provision(db: TestSchema): Promise<void> {
  await provisionUser(db, { user: A.id, account: SIXTH_LAB_ACCOUNT, num: A.num, plainDial: true });
  await provisionUser(db, { user: B.id, account: SIXTH_LAB_ACCOUNT, num: B.num });
}

/**
 * 51's second Cdr: pbx_realtime left the channel's application and data pointing at its freed
 * stack copies of the row, and cdr_manager printed those bytes (NOTES.md). Nothing can reproduce
 * them; that Cdr's LastApplication and LastData are not compared, and nothing else is exempt.
 */
export const FREED_MEMORY = { LastApplication: 'j\xe1\x11k', LastData: '\x80\x16\xc1z\xc3\x7f' };

const freedMemory = (h: Header[]): readonly string[] => {
  const get = (k: string) => h.find(([n]) => n === k)?.[1];
  return get('Event') === 'Cdr' && get('LastApplication') === FREED_MEMORY.LastApplication && get('LastData') === FREED_MEMORY.LastData
    ? ['LastApplication', 'LastData']
    : [];
};

export interface SixthLabScenario extends LabScenario {
  compare?: CompareOptions;
  /** PBX ms B's phone rang before it answered 486 Busy (52/53: SIPp's scenario). */
  busyDelayMs?: number;
}

export const SIXTH_LAB_SCENARIOS: SixthLabScenario[] = [
  {
    name: '50-originate-to-extension-caller-shown',
    scale: 0.4,
    // B's phone sent BYE 4.0 s after it answered (+3.047 → +7.055), 5.5 s after A answered.
    talkMs: 4_008,
    prepare: async (ctx) => {
      await provision(ctx.db);
      await ctx.sim.engine.dialplan.load();
      await registeredBefore(ctx, A, 'answer');
      await registeredBefore(ctx, B, 'answer');
    },
  },
  {
    name: '51-originate-to-extension-caller-shown-no-answer',
    scale: 0.4,
    prepare: async (ctx) => {
      await provision(ctx.db);
      await ctx.sim.engine.dialplan.load();
      await registeredBefore(ctx, A, 'answer');
      await registeredBefore(ctx, B, 'no_answer');
    },
    compare: { unverifiable: freedMemory },
  },
  {
    name: '52-extension-user-deleted-while-ringing',
    scale: 0.4,
    // B Ringing +0.018 → HangupRequest (486) +8.021.
    busyDelayMs: 8_003,
    prepare: (ctx) => colleagueRingsBusy(ctx, B52),
    side: (ctx) => [
      // A's phone dials 902: its channel is the recording's first message.
      { t: 0, run: () => control(ctx.sim, '/calls/internal', { from_user: A.id, to_num: B52.num }) },
      // 4 s into the ringing (no event: the rows go, B's channel rings on).
      { t: 4.0, run: () => deleteUser(ctx, B52) },
    ],
  },
  {
    name: '53-originate-to-extension-user-deleted-while-ringing',
    scale: 0.4,
    // B Ringing +1.538 → HangupRequest (486) +9.544.
    busyDelayMs: 8_006,
    prepare: (ctx) => colleagueRingsBusy(ctx, B53),
    side: (ctx) => [{ t: 5.54, run: () => deleteUser(ctx, B53) }],
  },
];

/** Simulator settings of a sixth-lab scenario: the fifth lab's, but the SIPp phones answered after 1.5 s (Ringing → Up). */
export function sixthLabConfig(s: SixthLabScenario): Partial<SimulatorConfig> {
  return { ...fifthLabConfig(s), answerDelayMs: 1505 * s.scale, busyDelayMs: s.busyDelayMs === undefined ? undefined : s.busyDelayMs * s.scale };
}
