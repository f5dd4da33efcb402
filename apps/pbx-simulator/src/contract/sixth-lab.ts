import type { Header } from '../ami/protocol';
import type { SimulatorConfig } from '../simulator';
import { TestSchema, provisionUser } from '../testing/realtime-schema';
import type { CompareOptions } from './compare';
import type { LabScenario } from './second-lab';
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
 */

export const SIXTH_LAB_ACCOUNT = 1001;

/** User A, the caller: the adapter rings its phone (leg A). Its row was the adapter's of fdb0b07 (no options). */
const A: LabUser = { id: '2079939652', num: '901', uri: 'sip:2079939652@127.0.0.1:15081' };
/** User B, the colleague, with the new Dial row; voicemail off. */
const B: LabUser = { id: '9727349586', num: '902', uri: 'sip:9727349586@127.0.0.1:15082' };

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
];

/** Simulator settings of a sixth-lab scenario: the fifth lab's, but the SIPp phones answered after 1.5 s (Ringing → Up). */
export function sixthLabConfig(s: LabScenario): Partial<SimulatorConfig> {
  return { ...fifthLabConfig(s), answerDelayMs: 1505 * s.scale };
}
