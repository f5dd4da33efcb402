import type { SimulatorConfig } from '../simulator';
import { assignDid, provisionUser } from '../testing/realtime-schema';
import { control, type LabContext, type LabScenario } from './second-lab';
import { ninthLabConfig } from './ninth-lab';
import { LabUser, registeredBefore } from './third-lab';

/**
 * Scenarios 63 and 64 (the tenth lab, 2026-12-04, fixtures/ami/NOTES.md): docker/asterisk as shipped
 * at 5ce3bfa (res_pjsip_refer loaded; rc-outbound refuses a channel a phone transferred), the whole
 * stack against it, recorded on the adapter's own AMI session. Users of account 1001 created through
 * the API: A 9602924450 (ext 901, the inbound number 74951230901 routed to it, so its endpoint
 * carries `RC_CALLER_NUMBER`) and B 7555374228 (ext 902, not rung here). The lab's phones answer
 * after 1 s; A's REFERs the party it talks to to a number that is no extension of the account
 * (Refer-To `sip:<n>@127.0.0.1:5070`, the lab's PJSIP address): rc-outbound's MixMonitor gets no
 * file name and the transferred channel is hung up; nothing is dialled out.
 *
 * 63: the PSTN calls 74951230901 at +0.000 s, A answers, A's REFER to 903 at +3.537 s. 64: the
 * adapter's Originate (the one client message) rings A, rc-outbound dials 79101234567, A's REFER
 * of the customer to 79107777777 at +3.521 s.
 */

export const TENTH_LAB_ACCOUNT = 1001;
const A_NUMBER = '74951230901';

const A: LabUser = { id: '9602924450', num: '901', uri: 'sip:9602924450@127.0.0.1:5601' };
const B: LabUser = { id: '7555374228', num: '902', uri: 'sip:7555374228@127.0.0.1:5602' };

/**
 * The tenth and eleventh labs' set-up: A and B of `account`, A's inbound number `did` routed to A (so
 * A's endpoint carries it as RC_CALLER_NUMBER), both phones registered and answering.
 */
export async function prepareColleagues(ctx: LabContext, account: number, a: LabUser, b: LabUser, did: string): Promise<void> {
  await provisionUser(ctx.db, { user: a.id, account, num: a.num, callerNumber: did });
  await provisionUser(ctx.db, { user: b.id, account, num: b.num });
  await assignDid(ctx.db, { did, account, num: a.num });
  await ctx.sim.engine.dialplan.load();
  await registeredBefore(ctx, a, 'answer');
  await registeredBefore(ctx, b, 'answer');
}

const prepare = (ctx: LabContext) => prepareColleagues(ctx, TENTH_LAB_ACCOUNT, A, B, A_NUMBER);

const transferTo = (ctx: LabContext, to: string) => control(ctx.sim, '/calls/transfer', { user: A.id, to });

export const TENTH_LAB_SCENARIOS: LabScenario[] = [
  {
    name: '63-blind-transfer-inbound-to-non-extension-refused',
    scale: 0.4,
    // The caller would have hung up 20 s after the answer; the PBX hung it up at the transfer.
    talkMs: 20_000,
    prepare,
    side: (ctx) => [
      { t: 0, run: () => control(ctx.sim, '/calls/inbound', { from: '79161234567', to: A_NUMBER }) },
      { t: 3.537, run: () => transferTo(ctx, '903') },
    ],
  },
  {
    name: '64-blind-transfer-click-to-call-to-outside-refused',
    scale: 0.4,
    talkMs: 20_000,
    prepare,
    side: (ctx) => [{ t: 3.521, run: () => transferTo(ctx, '79107777777') }],
  },
];

/** The ninth lab's settings with this lab's PJSIP address. */
export function tenthLabConfig(s: LabScenario): Partial<SimulatorConfig> {
  return { ...ninthLabConfig(s), sipAddress: '127.0.0.1:5070' };
}
