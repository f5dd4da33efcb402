import type { Channel } from '../engine/channel';
import type { RealtimeRepository } from '../realtime/repository';
import { bestMatch } from './pattern';

/** One priority of an extension: an application and its (not yet substituted) argument. */
export interface Step {
  app: string;
  data: string;
}

interface ExtensionDef {
  pattern: string;
  steps: Step[];
}

const s = (app: string, data = ''): Step => ({ app, data });

/**
 * The dial plan the transcripts were recorded with (fixtures/ami/dialplan-used.conf), verbatim.
 * `same => n` priorities become consecutive array entries.
 */
export const FIXTURE_DIALPLAN: Record<string, ExtensionDef[]> = {
  agents: [
    { pattern: '_X.', steps: [s('NoOp', 'Agent ${EXTEN} picks up'), s('Answer'), s('Playtones', '440/300,0/700'), s('Wait', '30'), s('Hangup')] },
    { pattern: '_4XX', steps: [s('NoOp', 'Agent ${EXTEN} busy'), s('Busy', '5')] },
    { pattern: '_5XX', steps: [s('NoOp', 'Agent ${EXTEN} rings, no answer'), s('Ringing'), s('Wait', '60'), s('Hangup')] },
  ],
  'acct-1001': [
    { pattern: '_000.', steps: [s('NoOp', 'B ${EXTEN} busy for acct-1001'), s('Set', 'CDR(userfield)=acct-1001'), s('Busy', '3'), s('Hangup')] },
    {
      pattern: '_999.',
      steps: [s('NoOp', 'B ${EXTEN} congestion for acct-1001'), s('Set', 'CDR(userfield)=acct-1001'), s('Congestion', '3'), s('Hangup')],
    },
    {
      pattern: '_X.',
      steps: [
        s('NoOp', 'Outbound ${EXTEN} for acct-1001 RC_CALL_ID=${RC_CALL_ID}'),
        s('Set', 'CDR(userfield)=acct-1001'),
        s('MixMonitor', '${RECDIR}/${UNIQUEID}.wav'),
        s('Answer'),
        s('Wait', '3'),
        s('Hangup'),
      ],
    },
  ],
  'acct-1002': [
    {
      pattern: '_X.',
      steps: [
        s('NoOp', 'Outbound ${EXTEN} for acct-1002 RC_CALL_ID=${RC_CALL_ID}'),
        s('Set', 'CDR(userfield)=acct-1002'),
        s('MixMonitor', '${RECDIR}/${UNIQUEID}.wav'),
        s('Dial', 'Local/${EXTEN}@pstn-sim,30'),
        s('Hangup'),
      ],
    },
  ],
  'pstn-sim': [
    { pattern: '_000.', steps: [s('Busy', '3')] },
    { pattern: '_999.', steps: [s('Congestion', '3')] },
    { pattern: '_X.', steps: [s('NoOp', 'Party B ${EXTEN} answers'), s('Answer'), s('Wait', '3'), s('Hangup')] },
  ],
  'caller-sim': [{ pattern: '_X.', steps: [s('NoOp', 'External caller ${EXTEN} is on the line'), s('Answer'), s('Wait', '8'), s('Hangup')] }],
  'from-pstn': [
    {
      pattern: '74957770000',
      steps: [
        s('NoOp', 'Inbound queue call from ${CALLERID(num)}'),
        s('Set', 'CDR(userfield)=acct-1001'),
        s('Answer'),
        s('Queue', 'support,,,,30'),
        s('Hangup'),
      ],
    },
    {
      pattern: '_X.',
      steps: [
        s('NoOp', 'Inbound call from ${CALLERID(num)} to DID ${EXTEN}'),
        s('Set', 'CDR(userfield)=acct-1001'),
        s('MixMonitor', '${RECDIR}/${UNIQUEID}.wav'),
        s('Dial', 'Local/100@agents,20'),
        s('Hangup'),
      ],
    },
  ],
};

/** The fixture's queue (queues.conf is not in the fixtures; DeviceStateList and QueueMemberStatus show it). */
export const QUEUES: Record<string, { members: { interface: string; name: string }[] }> = {
  support: { members: [{ interface: 'Local/100@agents', name: 'Agent 100' }] },
};

/** Seconds as a dial plan argument: 3000 ms → "3", 1500 ms → "1.5". */
export const seconds = (ms: number) => String(Math.round(ms) / 1000);

/**
 * The realtime side (issue 3): party B of provisioned accounts and external callers. These are
 * what an operator's extensions.conf would hold next to `switch => Realtime`; the simulator
 * builds them with the configured talk time.
 */
function realtimeHelpers(talkMs: number): Record<string, ExtensionDef[]> {
  return {
    'pstn-rt': [
      { pattern: '_000.', steps: [s('Busy', '3')] },
      { pattern: '_999.', steps: [s('Congestion', '3')] },
      { pattern: '_555.', steps: [s('NoOp', 'Party B ${EXTEN} does not answer'), s('Ringing'), s('Wait', '60'), s('Hangup')] },
      // Answer() itself takes half a second: the conversation lasts talkMs in all.
      { pattern: '_[+0-9].', steps: [s('NoOp', 'Party B ${EXTEN} answers'), s('Answer'), s('Wait', seconds(Math.max(0, talkMs - 500))), s('Hangup')] },
    ],
    // The external caller of POST /calls/inbound: stays on the line until the employee's phone hangs up.
    'caller-rt': [{ pattern: '_[+0-9].', steps: [s('NoOp', 'External caller ${EXTEN} is on the line'), s('Answer'), s('Wait', '3600'), s('Hangup')] }],
  };
}

const recordSteps = (account: string): Step[] => [s('Set', `CDR(userfield)=${account}`), s('MixMonitor', '${RECDIR}/${UNIQUEID}.wav')];

export interface DialplanOptions {
  /** Talk time of a realtime party B, in PBX milliseconds. */
  talkMs: number;
}

/**
 * Where a channel goes: the fixture dial plan first (it is what Asterisk's extensions.conf held),
 * then the realtime `acct-<N>` contexts of provisioned accounts, re-read on every lookup as
 * Asterisk does.
 */
export class Dialplan {
  private readonly staticContexts: Record<string, ExtensionDef[]>;

  constructor(
    private readonly realtime: RealtimeRepository,
    options: DialplanOptions,
  ) {
    this.staticContexts = { ...FIXTURE_DIALPLAN, ...realtimeHelpers(options.talkMs) };
  }

  isStaticContext(context: string): boolean {
    return context in this.staticContexts;
  }

  async contextExists(context: string): Promise<boolean> {
    if (this.isStaticContext(context)) return true;
    return /^acct-\d+$/.test(context) && (await this.realtime.hasContext(context));
  }

  /** The steps `exten` runs in `context` (priority 1 first), or undefined when nothing matches. */
  async resolve(context: string, exten: string, ch?: Channel): Promise<Step[] | undefined> {
    if (context === 'from-pstn' && ch?.inboundRoute) {
      const { account, user } = ch.inboundRoute;
      return [s('NoOp', 'Inbound call from ${CALLERID(num)} to DID ${EXTEN}'), ...recordSteps(account), s('Dial', `PJSIP/${user},30`), s('Hangup')];
    }
    const defs = this.staticContexts[context];
    if (defs) return bestMatch(defs, exten)?.steps;
    if (!/^acct-\d+$/.test(context)) return undefined;
    const rows = await this.realtime.extensionRows(context, exten);
    if (rows.length > 0) {
      return [
        s('NoOp', `Internal call to \${EXTEN} for ${context} RC_CALL_ID=\${RC_CALL_ID}`),
        ...recordSteps(context),
        ...rows.map((r) => s(r.app, r.appdata)),
        s('Hangup'),
      ];
    }
    if (!/^[+0-9]{2,}$/.test(exten) || !(await this.realtime.hasContext(context))) return undefined;
    return [
      s('NoOp', `Outbound \${EXTEN} for ${context} RC_CALL_ID=\${RC_CALL_ID}`),
      ...recordSteps(context),
      s('Dial', 'Local/${EXTEN}@pstn-rt,30'),
      s('Hangup'),
    ];
  }
}

/** `${EXTEN}`, `${UNIQUEID}`, `${CALLERID(num)}` and channel variables, as pbx substitution does. */
export function substitute(text: string, ch: Channel, globals: Record<string, string>): string {
  return text.replace(/\$\{([^}]+)\}/g, (_m, name: string) => {
    switch (name) {
      case 'EXTEN':
        return ch.exten;
      case 'CONTEXT':
        return ch.context;
      case 'UNIQUEID':
        return ch.uniqueid;
      case 'CHANNEL':
        return ch.name;
      case 'CALLERID(num)':
        return ch.callerId.num;
      case 'CALLERID(name)':
        return ch.callerId.name;
      default:
        return ch.vars.get(name) ?? globals[name] ?? '';
    }
  });
}
