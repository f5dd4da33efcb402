import { assignDid, provisionUser } from '../testing/realtime-schema';
import { control, type LabScenario } from './second-lab';
import { LabUser, registeredBefore } from './third-lab';

/**
 * Scenario 54 (the seventh lab, 2026-12-04, fixtures/ami/NOTES.md): docker/asterisk with
 * rc-outbound's guard ending the trunk's own channel before any Dial (`CHANNEL(endpoint)` =
 * `TRUNK`), the whole stack against it, recorded on the adapter's own AMI session. Number
 * 74951230306 is routed to extension 306 of account 3003, whose rows are gone (deleted by hand: the
 * state another adapter replica leaves for a moment when it applied the user's deletion or new
 * extension first). The PSTN calls the number at +0.000 s: the route's Set, MixMonitor and Goto
 * run, acct-3003 has no 306, rc-outbound's `_X.` matches, its MixMonitor gets no file name, the
 * call ends (FAILED, the caller gets 603) and nothing is dialled out.
 */

export const SEVENTH_LAB_ACCOUNT = 3003;

/** A user of the account (its context is loaded because the account has endpoints), registered, never rung here. */
const A: LabUser = { id: '3883441349', num: '301', uri: 'sip:3883441349@127.0.0.1:6001' };
export const ORPHAN_NUMBER = '74951230306';


export const SEVENTH_LAB_SCENARIOS: LabScenario[] = [
  {
    name: '54-inbound-number-extension-without-rows',
    scale: 0.4,
    prepare: async (ctx) => {
      await provisionUser(ctx.db, { user: A.id, account: SEVENTH_LAB_ACCOUNT, num: A.num });
      await assignDid(ctx.db, { did: ORPHAN_NUMBER, account: SEVENTH_LAB_ACCOUNT, num: '306' });
      await ctx.sim.engine.dialplan.load();
      await registeredBefore(ctx, A, 'answer');
    },
    side: (ctx) => [{ t: 0, run: () => control(ctx.sim, '/calls/inbound', { from: '79161234567', to: ORPHAN_NUMBER }) }],
  },
];
