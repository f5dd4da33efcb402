import type { Header } from '../ami/protocol';
import type { SimulatorConfig } from '../simulator';
import type { CompareOptions } from './compare';
import { control, type LabContext, type LabScenario } from './second-lab';
import { prepareColleagues, tenthLabConfig } from './tenth-lab';
import type { SixthLabScenario } from './sixth-lab';
import type { LabUser } from './third-lab';

/**
 * Scenarios 65–67 (the eleventh lab, 2026-12-04, fixtures/ami/NOTES.md): docker/asterisk at a32d9cb,
 * the whole stack against it, recorded on the recorder's own AMI session (Login, Logoff), which also
 * sent the actions: the click-to-call Originates and the `MixMonitor` actions the telephony adapter
 * now sends when a phone transfers (the customer's channel recorded on into a `-2` file). Users of
 * account 1001 created through the API: A 5963702869 (ext 901, the inbound number 74951230901 routed
 * to it) and B 4471968673 (ext 902). The phones (pjsua) and the PSTN (pjsua behind the trunk)
 * auto-answer with 200 at once: no 180, no Ringing state. The channel names carry Asterisk's
 * sequence since its start (65: from 0x13), which the recorded actions name.
 *
 * The side actions are at the times of the phones' commands (steps/*.log); pjsua took up to 0.26 s
 * to get the request to Asterisk (65's REFER: command +3.545, Unhold +3.801). 65: Originate A →
 * 79101234567, A's REFER of the customer to 902 (+3.545), the MixMonitor action on the trunk at
 * +3.806 s, B hangs up (+9.047). 66: A holds (+3.547), calls 902 (+4.798), REFERs with Replaces
 * (+9.300), the MixMonitor action at +9.313 s, B hangs up (+14.551). 67: MixMonitor on no such
 * channel (+0.601), the PSTN (From `pstn`) calls 74951230901 (+1.602), A answers, MixMonitor without
 * File (+3.103) and a second one on the recorded channel (+4.104); the PSTN hangs up (+7.105).
 * The MixMonitor actions of 65/66 were the adapter's reactions to the transfer events: the replay
 * sends them when the simulator sends those events (`reactions`), and the comparison accepts their
 * effects anywhere after the event in its burst (compare.ts, CompareOptions `reactions`).
 */

export const ELEVENTH_LAB_ACCOUNT = 1001;
const A_NUMBER = '74951230901';

export const ELEVENTH_A: LabUser = { id: '5963702869', num: '901', uri: 'sip:5963702869@127.0.0.1:5561' };
export const ELEVENTH_B: LabUser = { id: '4471968673', num: '902', uri: 'sip:4471968673@127.0.0.1:5562' };

const prepare = (ctx: LabContext) => prepareColleagues(ctx, ELEVENTH_LAB_ACCOUNT, ELEVENTH_A, ELEVENTH_B, A_NUMBER);

/** pjsua's REFER carries its own Contact as Referred-By (`;ob`: its outbound option). */
const REFERRED_BY = `<sip:${ELEVENTH_A.id}@127.0.0.1;ob>`;
const hangUpB = (ctx: LabContext) => control(ctx.sim, '/calls/hangup', { user: ELEVENTH_B.id });

/** Asterisk's channel sequence (and Uniqueid sequence) at each recording's first channel. */
const FIRST_SEQ: Record<string, number> = {
  '65-blind-transfer-click-to-call-mixmonitor-on-customer': 0x13,
  '66-attended-transfer-click-to-call-mixmonitor-on-customer': 0x16,
  '67-mixmonitor-action-errors': 0x1a,
};

/**
 * The MixMonitor action's file (the adapter's `<linkedid>-2.wav`) is the client's text, echoed in
 * MIXMONITOR_FILENAME: compared as written, the recorded Asterisk's Uniqueid in it included.
 */
const actionFile = (h: Header[]) =>
  h.some(([k, v]) => k === 'Variable' && v === 'MIXMONITOR_FILENAME') && h.some(([k, v]) => k === 'Value' && /-2\.wav$/.test(v)) ? ['Value'] : [];
/** pjsua phones send RTCP, the simulator has none (compare.ts): RTCPReceived is not compared here. */
export const ELEVENTH_LAB_COMPARE: CompareOptions = { verbatim: actionFile, uncompared: ['RTCPReceived'] };

const is = (h: Header[], k: string, v: string) => h.some(([n, x]) => n === k && x === v);
/** What the MixMonitor action started: its channel's MIXMONITOR_FILENAME and MixMonitorStart. */
const mixMonitorStarted = (h: Header[]) => is(h, 'Event', 'MixMonitorStart') || (is(h, 'Event', 'VarSet') && is(h, 'Variable', 'MIXMONITOR_FILENAME'));
/** The adapter's MixMonitor in reaction to the transfer event (compare.ts, CompareOptions `reactions`). */
const reactingTo = (event: string): CompareOptions => ({
  ...ELEVENTH_LAB_COMPARE,
  reactions: [{ trigger: (h) => is(h, 'Event', event), effects: mixMonitorStarted }],
});

export const ELEVENTH_LAB_SCENARIOS: SixthLabScenario[] = [
  {
    name: '65-blind-transfer-click-to-call-mixmonitor-on-customer',
    scale: 0.4,
    // The customer never hangs up; B's phone does (below).
    talkMs: 60_000,
    compare: reactingTo('BlindTransfer'),
    prepare,
    // The adapter's MixMonitor (+3.806) reacted to the BlindTransfer (+3.802).
    reactions: [{ action: 'MixMonitor', after: { Event: 'BlindTransfer' } }],
    side: (ctx) => [
      { t: 3.545, run: () => control(ctx.sim, '/calls/transfer', { user: ELEVENTH_A.id, to: ELEVENTH_B.num, referred_by: REFERRED_BY }) },
      { t: 9.047, run: () => hangUpB(ctx) },
    ],
  },
  {
    name: '66-attended-transfer-click-to-call-mixmonitor-on-customer',
    scale: 0.4,
    talkMs: 60_000,
    compare: reactingTo('AttendedTransfer'),
    prepare,
    // The adapter's MixMonitor (+9.313) reacted to the AttendedTransfer (+9.312).
    reactions: [{ action: 'MixMonitor', after: { Event: 'AttendedTransfer' } }],
    side: (ctx) => [
      { t: 3.547, run: () => control(ctx.sim, '/calls/hold', { user: ELEVENTH_A.id }) },
      { t: 4.798, run: () => control(ctx.sim, '/calls/internal', { from_user: ELEVENTH_A.id, to_num: ELEVENTH_B.num }) },
      { t: 9.3, run: () => control(ctx.sim, '/calls/transfer', { user: ELEVENTH_A.id, attended: true }) },
      { t: 14.551, run: () => hangUpB(ctx) },
    ],
  },
  {
    name: '67-mixmonitor-action-errors',
    scale: 0.4,
    // The PSTN sent BYE 5.19 s after A answered (+1.917 → +7.108).
    talkMs: 5_191,
    compare: ELEVENTH_LAB_COMPARE,
    prepare,
    side: (ctx) => [{ t: 1.602, run: () => control(ctx.sim, '/calls/inbound', { from: 'pstn', to: A_NUMBER }) }],
  },
];

/** The tenth lab's settings, with pjsua's answer at once (no 180) and Asterisk's sequence numbers of the recording. */
export function eleventhLabConfig(s: LabScenario): Partial<SimulatorConfig> {
  return {
    ...tenthLabConfig(s),
    pjsuaPhones: true,
    // A's phone answered 6 ms after its channel appeared, B's 3 ms, the PSTN 6 ms (65).
    answerDelayMs: 4 * s.scale,
    pstnAnswerDelayMs: 3 * s.scale,
    firstSeq: FIRST_SEQ[s.name] ?? 0,
  };
}
