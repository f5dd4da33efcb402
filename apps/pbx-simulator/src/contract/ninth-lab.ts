import type { SimulatorConfig } from '../simulator';
import { assignDid, provisionUser } from '../testing/realtime-schema';
import { control, type LabContext, type LabScenario } from './second-lab';
import { eighthLabConfig } from './eighth-lab';
import { LabUser, registeredBefore } from './third-lab';

/**
 * Scenarios 59–62 (the ninth lab again, 2026-12-04, fixtures/ami/NOTES.md): docker/asterisk
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
 * 61 and 62, the attended transfers: A's phone holds the party (61 +2.542 s, 62 +2.553 s), calls
 * 902 itself (the consultation, a new call: +3.057 s, +3.078 s; its Call-ID `att61-<hex>@…`, the
 * lab script's), B answers after 1 s, and A REFERs with Replaces naming the consultation (+7.098
 * s, +7.206 s). 61: the PSTN calls 74951230901 at +0.000 s and hangs up at +17.050 s. 62: the
 * adapter's Originate rings A, rc-outbound dials 79107654321; A's SIPp ended after the transfer
 * (its OPTIONS went unanswered: Unreachable at +24.285 s) and B's phone sent BYE at +34.224 s.
 *
 * The ninth lab's 56–58 are not replayed here (58 stops and restarts the adapter; 56/57 add
 * nothing the eighth lab's replay does not check).
 */

export const NINTH_LAB_ACCOUNT = 1001;
export const A_NUMBER = '74951230901';

export const NINTH_A: LabUser = { id: '1993720936', num: '901', uri: 'sip:1993720936@127.0.0.1:15091' };
export const NINTH_B: LabUser = { id: '4181950764', num: '902', uri: 'sip:4181950764@127.0.0.1:15092' };

/** Both users, A's number routed to A (admin API), the account's context loaded, both phones registered (A's from `aUri`). */
async function prepare(ctx: LabContext, aUri = NINTH_A.uri): Promise<void> {
  await provisionUser(ctx.db, { user: NINTH_A.id, account: NINTH_LAB_ACCOUNT, num: NINTH_A.num, callerNumber: A_NUMBER });
  await provisionUser(ctx.db, { user: NINTH_B.id, account: NINTH_LAB_ACCOUNT, num: NINTH_B.num });
  await assignDid(ctx.db, { did: A_NUMBER, account: NINTH_LAB_ACCOUNT, num: NINTH_A.num });
  await ctx.sim.engine.dialplan.load();
  await registeredBefore(ctx, { ...NINTH_A, uri: aUri }, 'answer');
  await registeredBefore(ctx, NINTH_B, 'answer');
}

/** A's phone REFERs the party it talks to to B's extension (the lab's SIPp phone sent Referred-By without a host). */
const transferToB = (ctx: LabContext) => control(ctx.sim, '/calls/transfer', { user: NINTH_A.id, to: NINTH_B.num, referred_by: `<sip:${NINTH_A.id}@>` });

export const NINTH_LAB_SCENARIOS: LabScenario[] = [
  {
    name: '59-blind-transfer-inbound-pstn-to-902',
    scale: 0.4,
    // The caller sent BYE 12.0 s after it was answered (+1.041 → +13.055; ANSWEREDTIME_MS 12013).
    talkMs: 12_014,
    prepare: (ctx) => prepare(ctx),
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
    prepare: (ctx) => prepare(ctx),
    side: (ctx) => [{ t: 3.531, run: () => transferToB(ctx) }],
  },
  {
    name: '61-attended-transfer-inbound-pstn-to-902',
    scale: 0.4,
    // The caller sent BYE 16.0 s after it was answered (+1.039 → +17.050; ANSWEREDTIME_MS 16010).
    talkMs: 16_011,
    prepare: (ctx) => prepare(ctx),
    side: (ctx) => [
      { t: 0, run: () => control(ctx.sim, '/calls/inbound', { from: '79161234567', to: A_NUMBER }) },
      ...consultAndTransfer(ctx, 2.542, 3.057, 7.098),
    ],
  },
  {
    name: '62-attended-transfer-click-to-call-customer-to-902',
    scale: 0.4,
    // Nobody hangs up by the talk time: B's phone sends BYE at +34.224 (below), the PSTN would have gone on.
    talkMs: 60_000,
    // A's SIPp of this run registered from port 5601 (the ContactStatus at +24.285).
    prepare: (ctx) => prepare(ctx, 'sip:1993720936@127.0.0.1:5601'),
    side: (ctx) => [
      ...consultAndTransfer(ctx, 2.553, 3.078, 7.206),
      // A's SIPp ended after the transfer: Asterisk's next OPTIONS went unanswered.
      { t: 24.285, run: () => control(ctx.sim, `/devices/${NINTH_A.id}/unreachable`) },
      { t: 34.224, run: () => control(ctx.sim, '/calls/hangup', { user: NINTH_B.id }) },
    ],
  },
];

/** A's phone holds its call, calls B's extension (the consultation) and REFERs with Replaces (61, 62). */
function consultAndTransfer(ctx: LabContext, hold: number, consult: number, refer: number) {
  return [
    { t: hold, run: () => control(ctx.sim, '/calls/hold', { user: NINTH_A.id }) },
    { t: consult, run: () => control(ctx.sim, '/calls/internal', { from_user: NINTH_A.id, to_num: NINTH_B.num }) },
    { t: refer, run: () => control(ctx.sim, '/calls/transfer', { user: NINTH_A.id, attended: true }) },
  ];
}

/**
 * The eighth lab's settings (docker/asterisk's dial plan as shipped), with the lab's PJSIP address;
 * A's consultation calls (61/62) went native_rtp with B.
 */
export function ninthLabConfig(s: LabScenario): Partial<SimulatorConfig> {
  return { ...eighthLabConfig(s), sipAddress: '127.0.0.1:5560', ownInviteNativeRtp: true };
}
