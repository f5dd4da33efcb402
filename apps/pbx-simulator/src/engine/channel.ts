import type { Header } from '../ami/protocol';

/** Asterisk's channel states (enum ast_channel_state) with the names AMI prints. */
export enum ChannelState {
  Down = 0,
  Ring = 4,
  Ringing = 5,
  Up = 6,
  Busy = 7,
}

const STATE_DESC: Record<ChannelState, string> = {
  [ChannelState.Down]: 'Down',
  [ChannelState.Ring]: 'Ring',
  [ChannelState.Ringing]: 'Ringing',
  [ChannelState.Up]: 'Up',
  [ChannelState.Busy]: 'Busy',
};

export const stateDesc = (s: ChannelState) => STATE_DESC[s];

export interface PartyId {
  num: string;
  name: string;
}

export const NO_PARTY: PartyId = { num: '', name: '' };

/** Hangup causes used here (Q.850) and the text AMI prints for them. */
export const CAUSE_TEXT: Record<number, string> = {
  0: 'Unknown',
  1: 'Unallocated (unassigned) number',
  3: 'No route to destination',
  16: 'Normal Clearing',
  17: 'User busy',
  18: 'No user responding',
  19: 'User alerting, no answer',
  20: 'Subscriber absent',
  21: 'Call Rejected',
  34: 'Circuit/channel congestion',
  38: 'Network out of order',
};

export type Tech = 'Local' | 'PJSIP';

/** What a dialled channel tells whoever dialled it (Dial(), Queue() or an Originate). */
export type Indication = 'ringing' | 'answer' | 'busy' | 'congestion';

export interface Recording {
  file: string;
  startedAt: number;
}

/**
 * One channel. The engine changes its fields and publishes the matching AMI events; nothing
 * here publishes by itself.
 */
export class Channel {
  state: ChannelState;
  callerId: PartyId = { ...NO_PARTY };
  connected: PartyId = { ...NO_PARTY };
  accountCode = '';
  context: string;
  exten: string;
  priority = 1;
  /** The application running now (Newexten, Status, CEL show it). */
  appl = '';
  data = '';
  /** AppDial2 / AppDial / AppQueue for channels created as the outgoing side of a call; CEL shows it at hangup. */
  outgoingAppl = '';
  readonly vars = new Map<string, string>();
  /** Automatic number identification as CEL shows it (set by Originate's CallerID and on Dial()'s far half). */
  ani = '';
  /** Status of the last Dial()/Queue() this channel placed (CEL HANGUP's dialstatus). */
  celDialStatus = '';
  /** Hangup() ended this channel's dial plan (CEL hangupsource dialplan/builtin). */
  hungUpByDialplan = false;
  hangupCause = 0;
  /** VoiceMail() is recording the caller: a BYE now queues a hangup that keeps the channel's cause. */
  inVoicemail = false;
  /** The SIP status a failed Dial's callee answered (486): the caller's TechCause once it hangs up itself (fixture 41). */
  failedDialTechCause = 0;
  readonly createdAt: number;
  answeredAt?: number;
  /** The other half of a Local channel pair. */
  localPeer?: Channel;
  /** true once the Local pair is connected (LocalBridge published): hangups propagate. */
  localLinked = false;
  bridge?: import('./bridge').Bridge;
  /** Whoever dialled this channel listens here for ringing/answer/busy. */
  onIndication?: (what: Indication) => void;
  /** Indications that arrived before the dialler started listening. */
  pendingIndications: Indication[] = [];
  /** Party A of a call detail record chain (false for channels created by Dial()/Queue()). */
  hasCdr = true;
  /** SoftHangupRequest is published once per channel. */
  softHangupPublished = false;
  hangupRequested = false;
  gone = false;
  /** Its MixMonitors (the dial plan's; one the AMI action MixMonitor added, e.g. after a transfer). */
  recordings: Recording[] = [];
  /** When this channel first entered a bridge with another party. */
  bridgedAt?: number;
  /** It placed a Dial()/Queue(): its talk time starts at the bridge, not at its own answer. */
  dialled = false;
  /** Called just before the channel is answered (app_queue moves the member to the caller's exten). */
  beforeAnswer?: () => void;
  /** After a bridged Dial() ended, this channel's hangup waits for its Local peer to go first. */
  waitLocalPeerOnHangup = false;
  /** The Local channel's extension does not exist: its device state is INVALID. */
  deviceInvalid = false;
  /** This phone's channel transferred its party, blind or attended (its phone may end the call itself: see CallEngine.destroy). */
  transferredAway?: boolean;
  /** When a blind transfer moved this channel out of its bridge (PBX ms; engine.ts TRANSFEREE_DIAL_MS). */
  blindTransferredAt?: number;
  /** A call the PSTN placed on the trunk (an inbound call). */
  fromPstn?: boolean;
  /** The SIP Call-ID of a PJSIP channel (BRIDGEPVTCALLID on its bridge peer). */
  sipCallId?: string;
  /** The SIP status behind this channel's hangup (Hangup/HangupRequest `TechCause`), once known. */
  techCause = 0;
  /** The PJSIP endpoint of a PJSIP channel. */
  endpoint?: import('../realtime/repository').EndpointRow;
  /** RTPAUDIOQOS* were set (at the far end's BYE, or at hangup). */
  rtpStatsDone = false;
  /** Periodic RTCPSent reports while the channel has media. */
  rtcpTimer?: NodeJS.Timeout;
  /** The phone behind this channel hangs up by itself once the call it placed was answered (internal calls). */
  hangsUpAfterTalk = false;
  /** Realtime rows this channel carries for itself (the deprecated `to_user` inbound call). */
  virtualRows?: import('../dialplan/dialplan').VirtualRows;
  /**
   * The place (`context/exten/priority`) a transfer's goto already announced with Newexten: the
   * first step run there publishes none (Asterisk's Newexten fires when the place changes, and the
   * goto changed it; fixtures 59/60).
   */
  announcedPlace?: string;
  /**
   * The phone this channel talks to put it on hold (a re-INVITE sendonly: Hold on the phone's
   * channel): its device is ONHOLD until the phone takes it back or transfers it (fixtures 61/62).
   */
  held = false;
  /**
   * The account code of whoever dialled this channel (Asterisk's peeraccount, set by Dial from the
   * caller's account code): a channel without an account code that joins this one in a bridge
   * takes it (fixture 61: the PSTN caller transferred to B gets 1001, NewAccountCode).
   */
  peerAccount = '';
  private readonly abort = new AbortController();
  private answeredResolve?: () => void;
  /** Resolves when the channel is answered. */
  readonly answered = new Promise<void>((r) => (this.answeredResolve = r));

  constructor(
    readonly name: string,
    readonly tech: Tech,
    readonly uniqueid: string,
    public linkedid: string,
    init: { state: ChannelState; context: string; exten: string; createdAt: number },
  ) {
    this.state = init.state;
    this.context = init.context;
    this.exten = init.exten;
    this.createdAt = init.createdAt;
  }

  /** Fires when something asks this channel to hang up: every blocking step listens to it. */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /** Tells the dialler (now, or as soon as it listens). */
  notify(what: Indication): void {
    if (this.onIndication) this.onIndication(what);
    else this.pendingIndications.push(what);
  }

  markAnswered(): void {
    this.answeredResolve?.();
  }

  requestHangup(cause: number): void {
    if (!this.hangupCause) this.hangupCause = cause;
    this.hangupRequested = true;
    this.abort.abort();
  }

  /** Where the channel is in the dial plan, as Newexten tells it: `context/exten/priority`. */
  get place(): string {
    return `${this.context}/${this.exten}/${this.priority}`;
  }

  /** `Local/100@agents`, `PJSIP/1679728441`: the device whose state this channel affects. */
  get device(): string {
    const base = this.name.replace(/;[12]$/, '');
    return base.slice(0, base.lastIndexOf('-'));
  }

  /** The standard channel snapshot block of AMI events, optionally prefixed (Dest, LocalOne...). */
  snapshot(prefix = ''): Header[] {
    return [
      [`${prefix}Channel`, this.name],
      [`${prefix}ChannelState`, String(this.state)],
      [`${prefix}ChannelStateDesc`, stateDesc(this.state)],
      [`${prefix}CallerIDNum`, this.callerId.num || '<unknown>'],
      [`${prefix}CallerIDName`, this.callerId.name || '<unknown>'],
      [`${prefix}ConnectedLineNum`, this.connected.num || '<unknown>'],
      [`${prefix}ConnectedLineName`, this.connected.name || '<unknown>'],
      [`${prefix}Language`, 'en'],
      [`${prefix}AccountCode`, this.accountCode],
      [`${prefix}Context`, this.context],
      [`${prefix}Exten`, this.exten],
      [`${prefix}Priority`, String(this.priority)],
      [`${prefix}Uniqueid`, this.uniqueid],
      [`${prefix}Linkedid`, this.linkedid],
    ];
  }
}

/** `"Agent 100" <100>` → {name, num}; a bare number is a number. */
export function parseCallerId(text: string | undefined): PartyId | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const m = /^\s*(?:"([^"]*)"|([^<]*?))\s*<([^>]*)>\s*$/.exec(text);
  if (m) return { name: (m[1] ?? m[2] ?? '').trim(), num: m[3].trim() };
  const bare = text.trim();
  return /^[0-9*#+]+$/.test(bare) ? { name: '', num: bare } : { name: bare, num: '' };
}

/** `"Agent 100" <100>` as CDRs print the caller id. */
export function formatCallerId(p: PartyId): string {
  return `"${p.name}" <${p.num}>`;
}
