import type { SimulatorConfig } from '../simulator';
import { assignDid, provisionUser } from '../testing/realtime-schema';
import { control, type LabContext, type LabScenario } from './second-lab';
import { eighthLabConfig } from './eighth-lab';
import { LabUser, registeredBefore } from './third-lab';

/**
 * Scenarios 59 and 60 (the ninth lab again, 2026-12-04, fixtures/ami/NOTES.md): docker/asterisk
 * at 8eae546 with res_pjsip_refer loaded by hand, the whole stack against it, recorded on the
 * adapter's own AMI session. Users of account 1001 created through the API: A 1993720936 (ext
 * 901; the inbound number 74951230901 is routed to it, so its endpoint carries
 * `RC_CALLER_NUMBER`) and B 4181950764 (ext 902). SIPp phones answer after 1 s; A's REFERs the
 * party it talks to to 902 (Refer-To `sip:902@127.0.0.1:5560`, the lab's PJSIP address), B's
 * stays on the line; the PSTN answers after 0.5 s.
 *
 * 59: the PSTN calls 74951230901 at +0.000 s (the side action places it), A answers, A's REFER at
 * +3.553 s; the caller hangs up at +13.055 s. 60: the adapter's Originate (the transcript's one
 * client message) rings A, rc-outbound dials 79101234567, A's REFER at +3.531 s; the PSTN hangs
 * up at +7.563 s.
 *
 * The ninth lab's 56–58 are not replayed here (58 stops and restarts the adapter; 56/57 add
 * nothing the eighth lab's replay does not check).
 */

export const NINTH_LAB_ACCOUNT = 1001;
export const A_NUMBER = '74951230901';

export const NINTH_A: LabUser = { id: '1993720936', num: '901', uri: 'sip:1993720936@127.0.0.1:15091' };
export const NINTH_B: LabUser = { id: '4181950764', num: '902', uri: 'sip:4181950764@127.0.0.1:15092' };

/** Both users, A's number routed to A (admin API), the account's context loaded, both phones registered. */
async function prepare(ctx: LabContext): Promise<void> {
  await provisionUser(ctx.db, { user: NINTH_A.id, account: NINTH_LAB_ACCOUNT, num: NINTH_A.num, callerNumber: A_NUMBER });
  await provisionUser(ctx.db, { user: NINTH_B.id, account: NINTH_LAB_ACCOUNT, num: NINTH_B.num });
  await assignDid(ctx.db, { did: A_NUMBER, account: NINTH_LAB_ACCOUNT, num: NINTH_A.num });
  await ctx.sim.engine.dialplan.load();
  await registeredBefore(ctx, NINTH_A, 'answer');
  await registeredBefore(ctx, NINTH_B, 'answer');
}

/** A's phone REFERs the party it talks to to B's extension. */
const transferToB = (ctx: LabContext) => control(ctx.sim, '/calls/transfer', { user: NINTH_A.id, to: NINTH_B.num });

export const NINTH_LAB_SCENARIOS: LabScenario[] = [
  {
    name: '59-blind-transfer-inbound-pstn-to-902',
    scale: 0.4,
    // The caller sent BYE 12.0 s after it was answered (+1.041 → +13.055; ANSWEREDTIME_MS 12013).
    talkMs: 12_014,
    prepare,
    side: (ctx) => [
      { t: 0, run: () => control(ctx.sim, '/calls/inbound', { from: '79161234567', to: A_NUMBER }) },
      { t: 3.553, run: () => transferToB(ctx) },
    ],
  },
  {
    name: '60-blind-transfer-click-to-call-customer-to-902',
    scale: 0.4,
    // The PSTN sent BYE 6.0 s after it answered (+1.547 → +7.563; ANSWEREDTIME_MS 6014 of its own Dial).
    talkMs: 6_016,
    prepare,
    side: (ctx) => [{ t: 3.531, run: () => transferToB(ctx) }],
  },
];

/** The eighth lab's settings (docker/asterisk's dial plan as shipped), with the lab's PJSIP address. */
export function ninthLabConfig(s: LabScenario): Partial<SimulatorConfig> {
  return { ...eighthLabConfig(s), sipAddress: '127.0.0.1:5560' };
}
