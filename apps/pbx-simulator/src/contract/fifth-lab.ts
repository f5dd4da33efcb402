import type { SimulatorConfig } from '../simulator';
import { TestAmiClient } from '../testing/ami-client';
import { TestSchema, provisionUser } from '../testing/realtime-schema';
import type { SideAction } from './replay';
import type { LabContext, LabScenario } from './second-lab';
import { LabUser, registeredBefore, thirdLabConfig } from './third-lab';

/**
 * Scenarios 47 and 49 (the fifth lab, fixtures/ami/NOTES.md): docker/asterisk as shipped at
 * 5c39f91, the whole stack against it, users of account 1001 created through the API (so every
 * extension has its final Hangup, and B's its VoiceMail while voicemail is on; the Dial was still
 * `PJSIP/<user>,30`, without options). The Originate came from the adapter's own AMI session, not
 * from the recorder's: here a second session sends it, byte for byte as the adapter's
 * asterisk-manager writes it, at the moment leg A appeared.
 *
 * 48 (the same as 49 on an Asterisk without sound prompts: VoiceMail fails at once with VMSTATUS
 * FAILED) is not replayed: the simulator plays no prompts and has no way to lack them.
 */

export const FIFTH_LAB_ACCOUNT = 1001;
const CONTEXT = `acct-${FIFTH_LAB_ACCOUNT}`;

/** User A, the caller: the adapter rings its phone (leg A). */
const A: LabUser = { id: '7942271805', num: '901', uri: 'sip:7942271805@127.0.0.1:15071' };
/** User B, the colleague A calls by extension; voicemail on in 48/49. */
const B: LabUser = { id: '6480591657', num: '902', uri: 'sip:6480591657@127.0.0.1:15072' };

async function provision(db: TestSchema, ...users: LabUser[]): Promise<void> {
  for (const u of users) await provisionUser(db, { user: u.id, account: FIFTH_LAB_ACCOUNT, num: u.num, voicemail: u.voicemail, plainDial: true });
}

/**
 * The adapter's click-to-call (OriginateService) on its own AMI session: Originate to `PJSIP/<A>`
 * into the account's context, CallerID `"<num>" <A's ext>`, the RC_* variables (asterisk-manager
 * writes the lines sorted, one Variable header each). ActionID and RC_CALL_ID are the recording's.
 */
function adapterOriginate(ctx: LabContext, t: number, num: string, actionId: string, callId: string): SideAction[] {
  let adapter: TestAmiClient | undefined;
  return [
    { t: t - 0.2, run: async () => void (adapter = await TestAmiClient.login(ctx.sim.amiPort, { events: 'on' })) },
    {
      t,
      run: async () => {
        if (!adapter) throw new Error('the adapter session did not log in');
        const reply = adapter.waitFor((m) => m.get('ActionID') === actionId && m.get('Response') !== undefined);
        adapter.send([
          ['Action', 'Originate'],
          ['ActionID', actionId],
          ['Async', 'true'],
          ['Callerid', `"${num}" <${A.num}>`],
          ['Channel', `PJSIP/${A.id}`],
          ['Context', CONTEXT],
          ['Exten', num],
          ['Priority', '1'],
          ['Timeout', '30000'],
          ['Variable', `RC_ACCOUNT=${FIFTH_LAB_ACCOUNT}`],
          ['Variable', `RC_CALL_ID=${callId}`],
          ['Variable', `RC_USER=${A.id}`],
        ]);
        const res = await reply;
        if (res.get('Response') !== 'Success') throw new Error(`Originate: ${res.get('Message')}`);
      },
    },
  ];
}

export const FIFTH_LAB_SCENARIOS: LabScenario[] = [
  {
    name: '47-originate-to-extension',
    scale: 0.4,
    // A's phone sent BYE 10 s after it answered (+2.084 → +12.097).
    talkMs: 10_013,
    prepare: async (ctx) => {
      await provision(ctx.db, A, B);
      await ctx.sim.engine.dialplan.load();
      // A's SIPp sent BYE 10 s after it answered; in 49 it stays on the line until the PBX hangs up.
      await registeredBefore(ctx, A, 'answer', true);
      await registeredBefore(ctx, B, 'answer');
    },
    side: (ctx) => [...adapterOriginate(ctx, 1.07, B.num, 'rc-6de23879-42bd-4264-9cb8-a1a53ce49ae3', '3f78efc5-f2af-462c-bbd1-82009bf86989')],
  },
  {
    name: '49-originate-to-extension-voicemail',
    scale: 0.4,
    // The message ended on silence (voicemail.conf maxsilence; A's phone sends no audio and never
    // hangs up): 15.8 s after the mailbox answered (+32.199 → +48.047).
    talkMs: 15_848,
    prepare: async (ctx) => {
      await provision(ctx.db, A, { ...B, voicemail: true });
      await ctx.sim.engine.dialplan.load();
      await registeredBefore(ctx, A, 'answer');
      await registeredBefore(ctx, B, 'no_answer');
    },
    side: (ctx) => [...adapterOriginate(ctx, 1.162, B.num, 'rc-d19f7db7-e4ab-4276-a08c-447fa3bed3d4', '34df5da2-169c-49f0-9040-7481ae0212f7')],
  },
];

/**
 * Simulator settings of a fifth-lab scenario: the third lab's timings, but docker/asterisk's own
 * module list (autoload = no since 12c526e): no res_mwi_devstate, so no `MWI:` device state.
 */
export function fifthLabConfig(s: LabScenario): Partial<SimulatorConfig> {
  return { ...thirdLabConfig(s), mwiDevstate: false };
}
