import type { SimulatorConfig } from '../simulator';
import { provisionUser } from '../testing/realtime-schema';
import type { LabScenario } from './second-lab';
import { fifthLabConfig } from './fifth-lab';
import { LabUser, registeredBefore } from './third-lab';

/**
 * Scenario 55 (the eighth lab, 2026-12-04, fixtures/ami/NOTES.md): docker/asterisk as shipped at
 * 5002c32 — rc-outbound's Dial presents the employee's own number, `f(<RC_CALLER_NUMBER, else the
 * caller's number>)` — the whole stack against it, recorded on the adapter's own AMI session. User
 * 6571119341 (extension 301 of account 1001) was given inbound number 74951230301 through the admin
 * API: the adapter put `set_var = RC_CALLER_NUMBER=74951230301` on its endpoint. `POST /v1/calls` to
 * 79101234002: the adapter's Originate at +0.000 s; the phone answers after 1 s, the PSTN 0.5 s after
 * its INVITE (`From: <sip:74951230301@…>`, no name), and the phone hangs up 8 s after it answered.
 */

export const EIGHTH_LAB_ACCOUNT = 1001;
export const OWN_NUMBER = '74951230301';

const A: LabUser = { id: '6571119341', num: '301', uri: 'sip:6571119341@127.0.0.1:6001' };

export const EIGHTH_LAB_SCENARIOS: LabScenario[] = [
  {
    name: '55-originate-outbound-own-number',
    scale: 0.4,
    // The phone sent BYE 8.0 s after it answered (+1.022 → +9.026; ANSWEREDTIME_MS 8004).
    talkMs: 8_004,
    prepare: async (ctx) => {
      await provisionUser(ctx.db, { user: A.id, account: EIGHTH_LAB_ACCOUNT, num: A.num, callerNumber: OWN_NUMBER });
      await ctx.sim.engine.dialplan.load();
      await registeredBefore(ctx, A, 'answer', true);
    },
  },
];

/** The fifth lab's settings with the dial plan as shipped (the third lab's replays pin the one of 40–54). */
export function eighthLabConfig(s: LabScenario): Partial<SimulatorConfig> {
  return { ...fifthLabConfig(s), dialplanFile: undefined };
}
