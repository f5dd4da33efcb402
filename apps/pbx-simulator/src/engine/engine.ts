import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Header } from '../ami/protocol';
import { Dialplan, QueueDef, VirtualRows } from '../dialplan/dialplan';
import { substitute as substituteText } from '../dialplan/substitute';
import type { Logger } from '../log';
import type { PjsipConfig } from '../realtime/config-objects';
import type { EndpointRow, RealtimeRepository } from '../realtime/repository';
import { APPS, AppResult, canonicalApp } from './apps';
import { AttendedMove, BlindTransfer, Bridge } from './bridge';
import { CdrChain, cdrHeaders } from './cdr';
import { Channel, ChannelState, Indication, PartyId, Tech, parseCallerId } from './channel';
import { SimClock } from './clock';
import { DeviceStates, Registrations } from './devices';
import { forcedConnectedLine, parseAppOptions, splitAppArgs } from './dial-args';
import { Phones } from './phones';
import { EventSink, Publisher } from './publisher';
import { writeRecording } from './recording';

/** Asterisk's own monitor folder (astspooldir/monitor): where a MixMonitor file without a folder goes. */
const MONITOR_DIR = '/var/spool/asterisk/monitor';

/** An INVITE the PBX sent through the trunk: the number dialled, the caller it presented. */
export interface TrunkInvite {
  number: string;
  caller: PartyId;
  channel: string;
}

const TRUNK_INVITES_KEPT = 200;

export interface EngineConfig {
  clock: SimClock;
  sink: EventSink;
  realtime: RealtimeRepository;
  registrations: Registrations;
  /** extensions.conf the dial plan is loaded from. */
  dialplanFile: string;
  /** pjsip.conf's static objects (the trunk). */
  pjsip: PjsipConfig;
  /** Queues Queue() knows (queues.conf is not read). */
  queues: Record<string, QueueDef>;
  /** Channel Event Logging on AMI (cel_manager): off unless the PBX has a cel.conf. */
  cel: boolean;
  /**
   * res_mwi_devstate is loaded: a mailbox's MWI state is also the device `MWI:<box>@<context>`
   * (DeviceStateChange). `autoload = yes` loads it (the third lab, fixture 40); docker/asterisk's
   * module list since 12c526e does not (46, 49: no such event).
   */
  mwiDevstate?: boolean;
  /** Absolute directory MixMonitor writes to (the dial plan's `${RECDIR}` maps here). */
  recordingsDir: string;
  /** app_voicemail's spool: `<dir>/<context>/<mailbox>/INBOX/msgNNNN.wav`. */
  voicemailDir: string;
  /** How long a simulated phone (or the PSTN) rings before it answers, in PBX ms. */
  answerDelayMs: number;
  /** How long the PSTN behind the trunk rings before it answers, in PBX ms (default: answerDelayMs). */
  pstnAnswerDelayMs?: number;
  /** How long a `ring_busy` phone rings before it answers 486 Busy Here, in PBX ms (default: answerDelayMs). */
  busyDelayMs?: number;
  /** How long a party that answered talks before hanging up, in PBX ms. */
  talkMs: number;
  /** PBX ms from a REGISTER to the first OPTIONS (qualify) of an AOR with qualify_frequency. */
  qualifyDelayMs: number;
  /**
   * `host:port` the phones send their SIP requests to: a REFER's Refer-To is `sip:<exten>@<it>`
   * (SIPREFERTOHDR). Default `127.0.0.1:5060`, the transport PJSIPShowEndpoint shows.
   */
  sipAddress?: string;
  /**
   * A call a phone placed itself (its own INVITE) may go native_rtp with the phone it reaches, as
   * the ninth lab's consultation calls did (61/62: three rounds of bridge variables, BridgeLeave
   * native_rtp); the second lab's 36 stayed simple_bridge. The recordings do not show why (the
   * SIPp phones' SDP is the suspect): off by default (36), on for the ninth lab's replay.
   */
  ownInviteNativeRtp?: boolean;
  /**
   * The first sequence number of PJSIP channel names and of Uniqueids (Asterisk's counters since its
   * start; a transcript's actions name channels, 65–67: trunk-00000014). Default 0.
   */
  firstSeq?: number;
  /**
   * The phones and the PSTN are pjsua (the eleventh lab, 65–67) instead of SIPp: they answer with 200
   * at once (no 180: no Ringing state, no DialState RINGING) and their INVITEs' Call-IDs are UUIDs.
   */
  pjsuaPhones?: boolean;
  log: Logger;
}

/** SIP timer B (64 × T1 = 32 s): an INVITE nobody answers fails with 408 (fixture 35). */
export const TIMER_B_MS = 32_000;

/** chan_pjsip's hangup_cause2sip: the SIP status a Q.850 cause is sent as (`TechCause`). */
export function causeToSip(cause: number): number {
  const map: Record<number, number> = { 1: 404, 2: 404, 3: 404, 17: 486, 18: 408, 19: 480, 20: 480, 21: 403, 22: 410, 23: 302, 27: 502, 28: 484, 29: 501, 31: 480, 34: 503, 38: 500, 41: 500, 42: 503, 58: 488, 66: 503, 127: 500 };
  return map[cause] ?? 0;
}

export interface OriginateRequest {
  channel: string;
  context: string;
  exten: string;
  priority: number;
  /** How long leg A may ring, PBX ms. */
  timeoutMs: number;
  callerId?: PartyId;
  variables: [string, string][];
  actionId?: string;
}

/** Leg A's fate: success (Reason 4) or a failure with Asterisk's reason (0, 1, 3, 5, 8). */
export interface OriginateOutcome {
  success: boolean;
  reason: number;
  channel?: Channel;
}

type Outcome = Indication | 'timeout' | 'hangup' | 'cancel';

/** How a bridge ended: who left it first, and the blind transfer that ended it, if one did. */
export interface BridgeEnd {
  leaver: Channel;
  transfer?: BlindTransfer;
  /** An attended transfer took the bridge over (the runner's channel was moved or is to hang up). */
  attended?: AttendedMove;
}

/** A phone's transfer the PBX refuses: no such extension (REFER answered 404), or a call it cannot move. */
export class TransferRefused extends Error {
  constructor(
    readonly reason: 'no-extension' | 'not-transferable',
    message: string,
  ) {
    super(message);
  }
}

/** Where phones send their requests when the configuration does not say (the transport's bind). */
const DEFAULT_SIP_ADDRESS = '127.0.0.1:5060';


/** A dialled channel hung up before answering: DialEnd status and DIALSTATUS by its cause (app_dial handle_cause). */
function failedDial(cause: number): { end: string; status: string } {
  if (cause === 17) return { end: 'BUSY', status: 'BUSY' };
  if (cause === 34 || cause === 42) return { end: 'CONGESTION', status: 'CONGESTION' };
  if (cause === 16 || cause === 19 || cause === 0) return { end: 'NOANSWER', status: 'NOANSWER' };
  return { end: 'NOANSWER', status: 'CHANUNAVAIL' };
}

/** Reasons of OriginateResponse: the last control frame seen (AST_CONTROL_*). */
const REASON: Record<string, number> = { answer: 4, busy: 5, congestion: 8, timeout: 3, hangup: 1, cancel: 0 };

/**
 * The earliest a blind transfer's transferee creates the channel its new extension's Dial calls,
 * in PBX ms after the BlindTransfer: Asterisk's new PBX thread looks the extension up in realtime,
 * Dial clears its variables, then chan_pjsip looks up the endpoint, its AOR and contacts (65: the
 * Newchannel 9 ms after the BlindTransfer, the Dial's variables cleared at +6 ms; 60: 18 ms, +8;
 * 59: 22 ms, +6). The adapter's MixMonitor action in reaction to the BlindTransfer (65, +4 ms)
 * started on the transferee before that Newchannel.
 */
const TRANSFEREE_DIAL_MS = 9;

const DIAL_CLEARED_VARS = [
  'DIALSTATUS',
  'DIALEDPEERNUMBER',
  'DIALEDPEERNAME',
  'ANSWEREDTIME',
  'ANSWEREDTIME_MS',
  'DIALEDTIME',
  'DIALEDTIME_MS',
  'RINGTIME',
  'RINGTIME_MS',
  'PROGRESSTIME',
  'PROGRESSTIME_MS',
];

const hex8 = (n: number) => n.toString(16).padStart(8, '0');

/**
 * The call engine: channels, Local channel pairs, dial plan execution, bridges, CDR and CEL, and
 * the AMI events each step publishes. A channel's dial plan runs as an async function (Asterisk's
 * PBX thread); blocking steps (Wait, ringing, a bridge) end early when the channel is asked to
 * hang up (`channel.signal`).
 */
export class CallEngine {
  readonly pub: Publisher;
  readonly devices: DeviceStates;
  readonly dialplan: Dialplan;
  readonly phones: Phones;
  readonly clock: SimClock;
  readonly startedAt: number;
  /** The SIP trunk's far end (the PSTN): down = INVITEs go unanswered. */
  readonly trunk = { up: true };
  /** The last INVITEs sent to the PSTN, newest last: the number and the caller presented (From). */
  readonly trunkInvites: TrunkInvite[] = [];
  private readonly channels = new Map<string, Channel>();
  private readonly cdrs = new Map<Channel, CdrChain>();
  private readonly linkedCount = new Map<string, number>();
  private readonly destroyed = new Map<Channel, Promise<void>>();
  private readonly destroyedResolvers = new Map<Channel, () => void>();
  private readonly techSeq: Record<Tech, number> = { Local: 0, PJSIP: 0 };
  private uniqueSeq = 0;
  private callIdSeq = 0;

  constructor(readonly config: EngineConfig) {
    this.clock = config.clock;
    this.startedAt = config.clock.now();
    this.pub = new Publisher(config.sink, config.clock, config.cel);
    this.techSeq.PJSIP = this.uniqueSeq = config.firstSeq ?? 0;
    this.phones = new Phones({
      pub: this.pub,
      clock: config.clock,
      registrations: config.registrations,
      realtime: config.realtime,
      pjsip: config.pjsip,
      qualifyDelayMs: config.qualifyDelayMs,
      log: config.log,
    });
    this.devices = new DeviceStates(this.pub, (user) => this.phones.online(user), () => this.channels.values(), this.startedAt, config.queues);
    this.phones.devices = this.devices;
    for (const [device, state] of this.phones.startupDevices()) this.devices.seed(device, state);
    this.dialplan = new Dialplan({ file: config.dialplanFile, realtime: config.realtime, log: config.log });
  }

  /** Loads the dial plan (at start nobody listens: the globals are set silently). */
  async init(): Promise<void> {
    await this.dialplan.load();
  }

  /** `dialplan reload`: the file and the account contexts again, and a VarSet per global (Channel none). */
  async reloadDialplan(): Promise<void> {
    for (const [name, value] of await this.dialplan.load()) this.pub.globalVarSet(name, value);
  }

  get globals(): Readonly<Record<string, string>> {
    return this.dialplan.globals;
  }

  /** Endpoint by id: pjsip.conf objects first, then realtime. */
  findEndpoint(id: string): Promise<EndpointRow | undefined> {
    return this.phones.findEndpoint(id);
  }

  /** false only when the endpoint is known to be gone (the table read fine and has no such row). */
  private async endpointStillThere(id: string): Promise<boolean> {
    try {
      return (await this.findEndpoint(id)) !== undefined;
    } catch {
      return true;
    }
  }

  get log(): Logger {
    return this.config.log;
  }

  get realtime(): RealtimeRepository {
    return this.config.realtime;
  }

  get registrations(): Registrations {
    return this.config.registrations;
  }

  now(): number {
    return this.clock.now();
  }

  /** The PBX stops: every channel is hung up (their flows end; nobody listens any more). */
  shutdown(): void {
    for (const ch of this.channels.values()) ch.requestHangup(16);
  }

  /** Runs a call flow without waiting for it; a bug in it is logged, never left unhandled. */
  background(flow: Promise<unknown>, what: string): void {
    flow.catch((err: Error) => this.log.error(`${what}: ${err.stack ?? err}`));
  }

  /** Live channels in creation order. */
  list(): Channel[] {
    return [...this.channels.values()];
  }

  find(name: string): Channel | undefined {
    return this.channels.get(name);
  }

  // ---------------------------------------------------------------- channel lifecycle

  private newChannel(name: string, tech: Tech, state: ChannelState, context: string, exten: string, linkedid?: string): Channel {
    const now = this.now();
    const uniqueid = `${Math.floor(now / 1000)}.${this.uniqueSeq++}`;
    const ch = new Channel(name, tech, uniqueid, linkedid ?? uniqueid, { state, context, exten, createdAt: now });
    this.channels.set(name, ch);
    this.linkedCount.set(ch.linkedid, (this.linkedCount.get(ch.linkedid) ?? 0) + 1);
    let resolve!: () => void;
    this.destroyed.set(ch, new Promise<void>((r) => (resolve = r)));
    this.destroyedResolvers.set(ch, resolve);
    return ch;
  }

  createLocalPair(exten: string, context: string, linkedid?: string, accountCode = ''): [Channel, Channel] {
    const base = `Local/${exten}@${context}-${hex8(this.techSeq.Local++)}`;
    const one = this.newChannel(`${base};1`, 'Local', ChannelState.Down, context, exten, linkedid);
    const two = this.newChannel(`${base};2`, 'Local', ChannelState.Ring, context, exten, one.linkedid);
    one.localPeer = two;
    two.localPeer = one;
    one.accountCode = two.accountCode = accountCode;
    return [one, two];
  }

  createPjsip(endpoint: EndpointRow, state: ChannelState, exten: string, linkedid?: string): Channel {
    const ch = this.newChannel(`PJSIP/${endpoint.id}-${hex8(this.techSeq.PJSIP++)}`, 'PJSIP', state, endpoint.context ?? 'default', exten, linkedid);
    ch.callerId = parseCallerId(endpoint.callerid ?? undefined) ?? { num: '', name: '' };
    ch.accountCode = endpoint.accountcode ?? '';
    ch.sipCallId = randomUUID();
    ch.endpoint = endpoint;
    return ch;
  }

  /**
   * CEL CHAN_START + Newchannel; party-A channels start their CDR here. A PJSIP channel then gets
   * its endpoint's `set_var` (chan_pjsip_new, for calls from and to the endpoint alike).
   */
  announce(ch: Channel): void {
    if (ch.hasCdr) this.cdrs.set(ch, new CdrChain(ch, ch.createdAt));
    this.pub.cel(ch, 'CHAN_START');
    this.pub.newchannel(ch);
    const setVar = ch.endpoint?.setVar;
    const eq = setVar?.indexOf('=') ?? -1;
    if (setVar && eq > 0) this.setVar(ch, setVar.slice(0, eq).trim(), setVar.slice(eq + 1).trim());
  }

  cdrOf(ch: Channel): CdrChain | undefined {
    return this.cdrs.get(ch);
  }

  setVar(ch: Channel, name: string, value: string): void {
    ch.vars.set(name, value);
    this.pub.varSet(ch, name, value);
  }

  setState(ch: Channel, state: ChannelState): void {
    if (ch.state === state) return;
    ch.state = state;
    this.pub.newstate(ch);
    this.deviceChanged(ch, false);
  }

  private deviceChanged(ch: Channel, gone: boolean): void {
    if (ch.tech === 'Local') this.devices.localChanged(ch, gone, ch.deviceInvalid);
    else this.devices.pjsipChanged(ch.device.slice('PJSIP/'.length));
  }

  answer(ch: Channel): void {
    if (ch.state === ChannelState.Up) return;
    ch.beforeAnswer?.();
    ch.answeredAt = this.now();
    this.cdrOf(ch)?.onAnswer(ch.answeredAt);
    this.pub.cel(ch, 'ANSWER');
    this.setState(ch, ChannelState.Up);
    if (ch.tech === 'PJSIP') this.startRtcp(ch);
    ch.markAnswered();
  }

  /** res_rtp_asterisk reports every 5 s while media flows (RTCPSent, class reporting): SR while sending, then RR. */
  private startRtcp(ch: Channel): void {
    const ssrc = `0x${Math.floor(Math.random() * 2 ** 32).toString(16).padStart(8, '0')}`;
    const peerSsrc = `0x${Math.floor(Math.random() * 2 ** 32).toString(16).padStart(8, '0')}`;
    let n = 0;
    const tick = () => {
      if (ch.gone) return;
      n++;
      const sent = n * 250;
      const report: Header[] = [
        ['To', '127.0.0.1:17100'],
        ['From', '127.0.0.1:10000'],
        ['MES', '88.1'],
        ['SSRC', ssrc],
        ['PT', n <= 2 ? '200(SR)' : '201(RR)'],
        ['ReportCount', '1'],
        ...(n <= 2
          ? ([
              ['SentNTP', (this.now() / 1000).toFixed(6)],
              ['SentRTP', String(sent * 160)],
              ['SentPackets', String(sent)],
              ['SentOctets', String(sent * 160)],
            ] as Header[])
          : []),
        ['Report0SourceSSRC', peerSsrc],
        ['Report0FractionLost', '0'],
        ['Report0CumulativeLost', '0'],
        ['Report0HighestSequence', String(1000 + sent)],
        ['Report0SequenceNumberCycles', '0'],
        ['Report0IAJitter', '3'],
        ['Report0LSR', '0'],
        ['Report0DLSR', '0.0000'],
      ];
      this.pub.rtcpSent(ch, report);
      ch.rtcpTimer = setTimeout(tick, this.clock.toWall(5000));
      ch.rtcpTimer.unref();
    };
    ch.rtcpTimer = setTimeout(tick, this.clock.toWall(5000));
    ch.rtcpTimer.unref();
  }

  /** Sets the running application and publishes Newexten (and the CDR's last application). */
  execute(ch: Channel, app: string, data: string): void {
    ch.appl = app;
    ch.data = data;
    this.cdrOf(ch)?.onApplication(ch, this.now());
    const announced = ch.announcedPlace === ch.place;
    ch.announcedPlace = undefined;
    if (!announced) this.pub.newexten(ch);
  }

  /**
   * A channel tells whoever dialled it that it rings/answered/is busy. For a Local ;2 that is the
   * ;1 half's dialler (Local passes control frames across the pair).
   */
  indicate(from: Channel, what: Indication): void {
    if (from.tech !== 'Local' || !from.localLinked) return;
    const target = from.localPeer;
    if (!target || target.gone) return;
    if (what === 'answer') this.answer(target);
    if (what === 'ringing' && target.state !== ChannelState.Up) this.setState(target, ChannelState.Ringing);
    target.notify(what);
  }

  /** A request to hang up from outside the channel's own thread (Local peer, AMI, a phone's BYE). */
  requestHangup(ch: Channel, cause: number, publish: 'HangupRequest' | 'SoftHangupRequest'): void {
    if (ch.gone) return;
    if (publish === 'HangupRequest') this.pub.hangupRequest(ch, cause);
    else if (!ch.softHangupPublished) {
      ch.softHangupPublished = true;
      this.pub.softHangupRequest(ch, cause);
    }
    ch.requestHangup(cause);
  }

  /**
   * The far end of a PJSIP channel ended the call (BYE, or a final failure response with its
   * SIP status as `techCause`): the media statistics are set first (and mirrored as *BRIDGED on
   * the bridge peer), then HangupRequest.
   */
  remoteHangup(ch: Channel, cause: number, techCause = 0): void {
    if (ch.gone || ch.hangupRequested) return;
    if (techCause) ch.techCause = techCause;
    if (ch.tech === 'PJSIP' && ch.answeredAt !== undefined) this.rtpStats(ch);
    if (ch.inVoicemail) {
      // A caller leaving a message hangs up: HangupRequest without a Cause, and the channel keeps
      // the one its failed Dial left (fixtures 40, 43: 0; 41: 17 with TechCause 486).
      ch.techCause ||= ch.failedDialTechCause;
      this.pub.hangupRequest(ch, ch.hangupCause || undefined);
      ch.requestHangup(ch.hangupCause);
      return;
    }
    this.requestHangup(ch, cause, 'HangupRequest');
  }

  /** Resolves once the channel is gone. */
  whenGone(ch: Channel): Promise<void> {
    return this.destroyed.get(ch) ?? Promise.resolve();
  }

  /**
   * Destroys a channel: the Local peer is told (HangupRequest), the recording is finished before
   * the Hangup event, then CEL HANGUP/CHAN_END (LINKEDID_END for the last of the call), the CDRs
   * and the device state.
   */
  async destroy(ch: Channel, opts: { waitForLocalPeer?: boolean } = {}): Promise<void> {
    if (ch.gone) return this.whenGone(ch);
    ch.gone = true;
    // The moment of the hangup: what the CDR and the recording measure (writing the file takes wall time).
    const endedAt = this.now();
    // Whether the endpoint is still there once the channel is gone (read meanwhile; see below).
    const endpoint = ch.tech === 'PJSIP' ? this.endpointStillThere(ch.device.slice('PJSIP/'.length)) : undefined;
    // The file is complete before anything else about the hangup is published.
    for (const recording of ch.recordings) {
      // The recording holds the conversation: from the bridge for a call that dialled someone,
      // from the answer for one that talked without dialling — and never from before it started.
      const talkFrom = ch.dialled ? ch.bridgedAt : ch.answeredAt;
      const from = talkFrom === undefined ? undefined : Math.max(recording.startedAt, talkFrom);
      const seconds = from === undefined ? 0 : Math.max(0, endedAt - from) / 1000;
      try {
        await writeRecording(this.recordingTarget(recording.file), seconds);
      } catch (err) {
        this.log.error(`recording ${recording.file} failed: ${(err as Error).message}`);
      }
    }
    const peer = ch.localPeer;
    if (peer && ch.localLinked && !peer.gone) {
      this.pub.hangupRequest(peer, ch.hangupCause);
      peer.requestHangup(ch.hangupCause);
      // After a bridged Dial() the caller's teardown is the longer one: its Local peer goes first.
      if (opts.waitForLocalPeer) await this.whenGone(peer);
    }
    if (ch.tech === 'PJSIP') {
      clearTimeout(ch.rtcpTimer);
      if (ch.answeredAt !== undefined) this.rtpStats(ch);
      // A pjsua phone that transferred its call hangs up itself once the REFER succeeded: its BYE
      // crosses Asterisk's own hangup of the channel (65, 66's first call: HangupRequest after the
      // media statistics, before the Hangup; SIPp's phones in 60/61 sent none).
      if (this.config.pjsuaPhones && ch.transferredAway) this.pub.hangupRequest(ch, ch.hangupCause);
      // chan_pjsip sends the hangup cause as a SIP status (hangup_cause2sip): TechCause.
      if (!ch.techCause) ch.techCause = causeToSip(ch.hangupCause);
    }
    this.channels.delete(ch.name);
    this.pub.hangup(ch);
    const app = { application: ch.outgoingAppl, appData: ch.outgoingAppl ? '(Outgoing Line)' : '' };
    const extra = JSON.stringify({ hangupcause: ch.hangupCause, hangupsource: ch.hungUpByDialplan ? 'dialplan/builtin' : '', dialstatus: ch.celDialStatus });
    this.pub.cel(ch, 'HANGUP', { ...app, extra });
    this.pub.cel(ch, 'CHAN_END', app);
    const left = (this.linkedCount.get(ch.linkedid) ?? 1) - 1;
    if (left <= 0) {
      this.linkedCount.delete(ch.linkedid);
      this.pub.cel(ch, 'LINKEDID_END', app);
    } else this.linkedCount.set(ch.linkedid, left);
    const chain = this.cdrs.get(ch);
    if (chain) {
      this.cdrs.delete(ch);
      for (const record of chain.finish(ch, endedAt)) this.pub.emit('Cdr', 'cdr,all', cdrHeaders(record));
    }
    // chan_pjsip_devicestate of an endpoint deleted while its channel lived (its user removed as it
    // rang, fixtures 52/53): sorcery finds no endpoint, INVALID.
    if (endpoint && !(await endpoint)) this.devices.pjsipInvalid(ch.device.slice('PJSIP/'.length));
    else this.deviceChanged(ch, true);
    this.destroyedResolvers.get(ch)?.();
    this.destroyedResolvers.delete(ch);
    // Once gone, whenGone() answers at once: nothing per channel is kept after its hangup.
    this.destroyed.delete(ch);
  }

  /**
   * The media statistics chan_pjsip sets when an answered channel's session ends, each mirrored
   * as <NAME>BRIDGED on the channel it is bridged with (fixtures 32, 36). Once per channel.
   */
  private rtpStats(ch: Channel): void {
    if (ch.rtpStatsDone) return;
    ch.rtpStatsDone = true;
    const peer = ch.bridge?.members.find((m) => m !== ch);
    const ssrc = Math.floor(Math.random() * 2 ** 31);
    const z = '000.000000';
    const stat = (name: string, pad: number) =>
      ['min', 'max', 'avg', 'stdev'].flatMap((k) => [`${' '.repeat(pad)}${k}rx${name}=${z};`]).join('') +
      ['min', 'max', 'avg', 'stdev'].flatMap((k) => [`${' '.repeat(pad)}${k}tx${name}=${z};`]).join('');
    const vars: [string, string][] = [
      ['RTPAUDIOQOS', `ssrc=${ssrc};themssrc=0;lp=0;rxjitter=0.000000;rxcount=0;txjitter=0.000000;txcount=0;rlp=0;rtt=0.000000;rxmes=0.000000;txmes=0.000000`],
      ['RTPAUDIOQOSJITTER', stat('jitter', 0)],
      ['RTPAUDIOQOSLOSS', stat('lost', 2)],
      ['RTPAUDIOQOSRTT', ['min', 'max', 'avg', 'stdev'].map((k) => `     ${k}rtt=${z};`).join('')],
      ['RTPAUDIOQOSMES', stat('mes', 3)],
    ];
    for (const [name, value] of vars) {
      this.setVar(ch, name, value);
      if (peer) this.setVar(peer, `${name}BRIDGED`, value);
    }
  }

  // ---------------------------------------------------------------- dial plan

  /**
   * Runs the dial plan from context/exten/priority until it ends, then hangs the channel up. Each
   * priority is looked up when it is reached (a realtime row changed meanwhile is seen, as in
   * Asterisk); Goto moves the channel elsewhere.
   */
  async runPbx(ch: Channel, context: string, exten: string, priority = 1): Promise<void> {
    ch.context = context;
    ch.exten = exten;
    ch.priority = priority;
    try {
      while (!ch.hangupRequested) {
        const step = await this.dialplan.find(ch.context, ch.exten, ch.priority, ch);
        if (!step) break;
        const app = canonicalApp(step.app);
        const data = this.substitute(step.data, ch);
        // pbx_realtime publishes the step's snapshot itself, with `(NULL)` for empty data (fixture 51:
        // the extension's Hangup row), then runs the application with the empty data.
        this.execute(ch, app, step.realtime && data === '' ? '(NULL)' : data);
        ch.data = data;
        const run = APPS[app.toLowerCase()];
        let result: AppResult;
        if (!run) {
          this.log.warn(`${ch.name}: no application '${step.app}' in the simulator; hanging up`);
          result = 'hangup';
        } else result = await run(this, ch, data);
        if (result === 'hangup' && step.realtime && !ch.hangupRequested && app !== 'Hangup') {
          // pbx_realtime ran the application with app and data in its own stack buffers: once it
          // returns, the channel's last application points at whatever is there, the row's
          // unsubstituted text (fixtures 48/49: VoiceMail ended the call by itself). When the far
          // end had hung up during the application (40, 41, 43, 36, 42, 47) the record had
          // already stopped following the channel and keeps the application's name; so had it
          // when a Dial was answered and the far end hung up (50: the bridge's end finalized it).
          this.cdrOf(ch)?.onStaleApplication(step.data);
        }
        if (result === 'hangup') break;
        if (result === 'continue') ch.priority++;
      }
    } catch (err) {
      this.log.error(`${ch.name}: dial plan failed: ${(err as Error).stack ?? err}`);
    }
    await this.endPbx(ch);
  }

  /** The dial plan is over: SoftHangupRequest (once) and the hangup. */
  async endPbx(ch: Channel, opts: { waitForLocalPeer?: boolean } = {}): Promise<void> {
    if (ch.gone) return;
    if (!ch.softHangupPublished) {
      ch.softHangupPublished = true;
      this.pub.softHangupRequest(ch, 16);
    }
    await this.destroy(ch, { waitForLocalPeer: opts.waitForLocalPeer ?? ch.waitLocalPeerOnHangup });
  }

  /** Substitutes `${...}` and `$[...]` in the context of a channel (its variables, built-ins, functions, globals). */
  substitute(text: string, ch: Channel): string {
    return substituteText(text, {
      lookup: (name) => this.variable(ch, name),
      call: (name, args) => this.func(ch, name, args),
      warn: (m) => this.log.debug(`${ch.name}: ${m}`),
    });
  }

  private variable(ch: Channel, name: string): string | undefined {
    switch (name) {
      case 'EXTEN':
        return ch.exten;
      case 'CONTEXT':
        return ch.context;
      case 'PRIORITY':
        return String(ch.priority);
      case 'UNIQUEID':
        return ch.uniqueid;
      case 'CHANNEL':
        return ch.name;
      case 'HANGUPCAUSE':
        return String(ch.hangupCause);
    }
    // An inheritable variable is stored under its `_`/`__` name (Set(__X=…), a REFER's __SIPREFERREDBYHDR).
    return ch.vars.get(name) ?? ch.vars.get(`__${name}`) ?? ch.vars.get(`_${name}`) ?? this.globals[name];
  }

  /**
   * ast_channel_inherit_variables: what a Dial()'s new channel takes from the caller. `__X` is
   * passed on as `__X` (to every later generation), `_X` as `X` (one generation). Fixtures
   * 59/60: the transferred caller's `__SIPREFERREDBYHDR` reaches the colleague's channel.
   */
  private inheritVariables(parent: Channel, child: Channel): void {
    for (const [name, value] of parent.vars) {
      if (name.startsWith('__')) this.setVar(child, name, value);
      else if (name.startsWith('_')) this.setVar(child, name.slice(1), value);
    }
  }

  /** The dial plan functions the simulator has: CALLERID, CONNECTEDLINE, CDR (read), DEVICE_STATE, LEN, CHANNEL(endpoint). */
  private func(ch: Channel, name: string, args: string): string | undefined {
    const arg = args.trim();
    switch (name) {
      case 'CALLERID':
      case 'CONNECTEDLINE': {
        const p = name === 'CALLERID' ? ch.callerId : ch.connected;
        if (/^(num|number)$/i.test(arg)) return p.num;
        if (/^name$/i.test(arg)) return p.name;
        if (/^all$/i.test(arg)) return `"${p.name}" <${p.num}>`;
        if (name === 'CALLERID' && /^ani$/i.test(arg)) return ch.ani;
        return undefined;
      }
      case 'CDR':
        return this.cdrOf(ch)?.read(arg.split(',')[0].toLowerCase()) ?? '';
      case 'DEVICE_STATE':
        return this.devices.deviceState(arg) ?? 'UNKNOWN';
      case 'LEN':
        return String(args.length);
      case 'CHANNEL':
        // chan_pjsip's item; other channel types have no endpoint (Asterisk warns, substitutes empty).
        if (/^endpoint$/i.test(arg)) return ch.endpoint?.id ?? '';
        return undefined;
    }
    return undefined;
  }

  /**
   * Where MixMonitor's file really goes: the dial plan names it under `${RECDIR}` (the PBX's
   * folder); the simulator writes it at the same place under RECORDINGS_DIR (else by file name).
   */
  recordingTarget(file: string): string {
    const root = this.config.recordingsDir;
    const recdir = (this.globals.RECDIR ?? '').replace(/\/+$/, '');
    if (recdir && file.startsWith(`${recdir}/`)) {
      const target = path.resolve(root, file.slice(recdir.length + 1));
      // Never outside RECORDINGS_DIR, whatever the dial plan says.
      if (target.startsWith(`${root}${path.sep}`)) return target;
    }
    return path.join(root, path.basename(file));
  }

  /**
   * MixMonitor on a channel, from the dial plan or the AMI action (app_mixmonitor's one
   * mixmonitor_exec): a relative name goes to Asterisk's monitor folder; MIXMONITOR_FILENAME is set,
   * then MixMonitorStart published (`fromAction`: the AMI action, on a live call). False without a
   * file name (nothing started).
   */
  mixMonitor(ch: Channel, file: string, fromAction = false): boolean {
    if (file === '') return false;
    const absolute = file.startsWith('/') ? file : `${MONITOR_DIR}/${file}`;
    this.setVar(ch, 'MIXMONITOR_FILENAME', absolute);
    ch.recordings.push({ file: absolute, startedAt: this.now() });
    this.pub.mixMonitorStart(ch);
    // The action's audiohook on a channel already in a bridge makes the bridge re-evaluate: one round
    // of peer variables, its members in order (67(c): the phone's, then the monitored trunk's).
    // An audiohook needs the frames: a native_rtp bridge goes back to simple_bridge, three rounds
    // (66: the consultation's bridge the transferee had joined; BridgeLeave then says simple_bridge).
    const bridge = fromAction ? ch.bridge : undefined;
    const rounds = bridge?.technology === 'native_rtp' ? 3 : 1;
    if (bridge) bridge.technology = 'simple_bridge';
    for (let r = 0; bridge && r < rounds; r++) for (const m of [...bridge.members]) if (bridge.peerOf(m)) this.setBridgePeer(m, bridge.peerOf(m)!);
    return true;
  }

  recordingPath(ch: Channel): string {
    return path.join(this.globals.RECDIR ?? this.config.recordingsDir, `${ch.uniqueid}.wav`);
  }

  // ---------------------------------------------------------------- dialling

  /**
   * Waits for what a dialled channel does: answer, busy, congestion; 'timeout' after `timeoutMs`,
   * 'hangup' if it dies first, 'cancel' when `cancel` fires (the caller hung up).
   */
  waitOutcome(dest: Channel, timeoutMs: number | undefined, onRinging: () => void, cancel?: AbortSignal): Promise<Outcome> {
    return new Promise((resolve) => {
      const timer = new AbortController();
      let done = false;
      const finish = (o: Outcome) => {
        if (done) return;
        done = true;
        timer.abort();
        dest.onIndication = undefined;
        dest.signal.removeEventListener('abort', onHangup);
        cancel?.removeEventListener('abort', onCancel);
        resolve(o);
      };
      const onHangup = () => finish('hangup');
      const onCancel = () => finish('cancel');
      const handler = (what: Indication) => (what === 'ringing' ? onRinging() : finish(what));
      dest.onIndication = handler;
      for (const what of dest.pendingIndications.splice(0)) if (!done) handler(what);
      if (done) return;
      if (dest.signal.aborted) return finish('hangup');
      if (cancel?.aborted) return finish('cancel');
      dest.signal.addEventListener('abort', onHangup, { once: true });
      cancel?.addEventListener('abort', onCancel, { once: true });
      if (timeoutMs !== undefined) void this.clock.sleep(timeoutMs, timer.signal).then((r) => r === 'elapsed' && finish('timeout'));
    });
  }

  /**
   * A simulated SIP phone receiving an INVITE: 180 Ringing at once, then answer after the
   * configured delay (or 486 Busy, or ringing until cancelled). A phone that answered a call
   * dialled to it hangs up (BYE) after the talk time unless the caller is the one who hangs up.
   */
  ringPhone(ch: Channel, user: string, hangUpAfterTalk: boolean): void {
    this.background(this.phone(ch, user, hangUpAfterTalk), `phone ${user}`);
  }

  private async phone(ch: Channel, user: string, hangUpAfterTalk: boolean): Promise<void> {
    const behaviour = this.registrations.behaviour(user);
    if ((await this.clock.sleep(2, ch.signal)) === 'aborted' || ch.gone) return;
    if (behaviour === 'busy') {
      // 486 Busy Here: the channel is hung up with cause 17 (as the trunk's 486 in fixture 33).
      this.remoteHangup(ch, 17, 486);
      return;
    }
    if (behaviour !== 'answer' || !this.config.pjsuaPhones) this.ring(ch);
    if (behaviour === 'no_answer') return;
    if (behaviour === 'ring_busy') {
      if ((await this.clock.sleep(this.config.busyDelayMs ?? this.config.answerDelayMs, ch.signal)) === 'aborted' || ch.gone) return;
      this.remoteHangup(ch, 17, 486);
      return;
    }
    if ((await this.clock.sleep(this.config.answerDelayMs, ch.signal)) === 'aborted' || ch.gone) return;
    this.answer(ch);
    ch.notify('answer');
    if (!hangUpAfterTalk) return;
    if ((await this.clock.sleep(this.config.talkMs, ch.signal)) === 'aborted' || ch.gone) return;
    this.remoteHangup(ch, 16);
  }

  /** 180 Ringing on an outgoing channel: Newstate Ringing, then the dialler hears it. */
  private ring(ch: Channel): void {
    this.setState(ch, ChannelState.Ringing);
    ch.notify('ringing');
  }

  /**
   * The PSTN behind the trunk, answering an INVITE for `number` (the SIPp "PSTN" of the second
   * lab): `000…` 486 Busy Here, `999…` 503 Service Unavailable, `555…` rings until cancelled,
   * anything else rings, answers after the answer delay and hangs up (BYE) after the talk time.
   * With the trunk down nothing answers: SIP timer B ends the attempt with 408 after 32 s.
   */
  private async pstn(ch: Channel, number: string): Promise<void> {
    if (!this.trunk.up) {
      if ((await this.clock.sleep(TIMER_B_MS, ch.signal)) === 'aborted' || ch.gone) return;
      this.remoteHangup(ch, 18, 408);
      return;
    }
    if ((await this.clock.sleep(3, ch.signal)) === 'aborted' || ch.gone) return;
    if (number.startsWith('000')) return this.remoteHangup(ch, 17, 486);
    if (number.startsWith('999')) return this.remoteHangup(ch, 34, 503);
    if (number.startsWith('555') || !this.config.pjsuaPhones) this.ring(ch);
    if (number.startsWith('555')) return;
    if ((await this.clock.sleep(this.config.pstnAnswerDelayMs ?? this.config.answerDelayMs, ch.signal)) === 'aborted' || ch.gone) return;
    this.answer(ch);
    ch.notify('answer');
    if ((await this.clock.sleep(this.config.talkMs, ch.signal)) === 'aborted' || ch.gone) return;
    this.remoteHangup(ch, 16);
  }

  // ---------------------------------------------------------------- Originate

  /**
   * AMI Originate to a dial plan context. `report` is called once, when leg A answers (before its
   * dial plan starts) or fails; the session turns that into OriginateResponse or a reply.
   */
  async originate(req: OriginateRequest, report: (o: OriginateOutcome) => void): Promise<void> {
    const slash = req.channel.indexOf('/');
    const tech = slash > 0 ? req.channel.slice(0, slash) : '';
    let resource = slash > 0 ? req.channel.slice(slash + 1) : '';
    // Local/exten@context/n: the options after the second slash change nothing here.
    if (tech.toLowerCase() === 'local') resource = resource.replace(/\/[a-z]*$/i, '');
    if (tech.toLowerCase() === 'local' && /^[^@/]+@[^@/]+$/.test(resource)) return this.originateLocal(req, resource, report);
    if (tech.toUpperCase() === 'PJSIP' && /^[^/@]+$/.test(resource)) return this.originatePjsip(req, resource, report);
    report({ success: false, reason: 0 });
  }

  private async originateLocal(req: OriginateRequest, resource: string, report: (o: OriginateOutcome) => void): Promise<void> {
    const [exten, context] = resource.split('@');
    const valid = await this.dialplan.exists(context, exten);
    const [one, two] = this.createLocalPair(exten, context);
    this.announce(one);
    this.announce(two);
    one.outgoingAppl = 'AppDial2';
    this.execute(one, 'AppDial2', '(Outgoing Line)');
    for (const [k, v] of req.variables) this.setVar(one, k, v);
    this.applyOriginateCallerId(one, req.callerId);
    // Local's call(): the variables and identities cross to the ;2 half.
    for (const [k, v] of req.variables) this.setVar(two, k, v);
    if (req.callerId) {
      two.callerId = { ...one.connected };
      two.connected = { ...one.callerId };
      this.pub.newCallerid(two);
      this.pub.newConnectedLine(two);
    }
    if (!valid) {
      // The Local channel could not start its dial plan (scenario 05): both halves just go.
      one.deviceInvalid = two.deviceInvalid = true;
      await this.destroy(two);
      await this.destroy(one);
      report({ success: false, reason: 0 });
      return;
    }
    one.localLinked = two.localLinked = true;
    this.pub.localBridge(one, two, context, exten);
    this.pub.dialBegin(undefined, one, resource);
    this.background(this.runPbx(two, context, exten, 1), two.name);
    await this.awaitLegA(req, one, report);
  }

  private async originatePjsip(req: OriginateRequest, user: string, report: (o: OriginateOutcome) => void): Promise<void> {
    const endpoint = await this.findEndpoint(user);
    // No such endpoint, or no contact to send the INVITE to: Asterisk queues the originate, then
    // fails it at once (fixture 38: "Could not create dialog to invalid URI").
    if (!endpoint || !this.phones.reachableForCalls(endpoint)) return report({ success: false, reason: 0 });
    const ch = this.createPjsip(endpoint, ChannelState.Down, 's');
    this.announce(ch);
    ch.outgoingAppl = 'AppDial2';
    this.execute(ch, 'AppDial2', '(Outgoing Line)');
    for (const [k, v] of req.variables) this.setVar(ch, k, v);
    this.applyOriginateCallerId(ch, req.callerId);
    this.pub.dialBegin(undefined, ch, user);
    this.ringPhone(ch, user, false);
    // A phone that ends the call by itself (fixture 47: BYE 10 s after it answered).
    if (this.registrations.hangsUp(user)) this.hangUpAfterTalk(ch);
    await this.awaitLegA(req, ch, report);
  }

  /** Originate's CallerID: NewCallerid when it changes the channel's, then the connected line. */
  private applyOriginateCallerId(ch: Channel, callerId: PartyId | undefined): void {
    if (!callerId) return;
    ch.ani = callerId.num;
    if (ch.callerId.num !== callerId.num || ch.callerId.name !== callerId.name) {
      ch.callerId = { ...callerId };
      this.pub.newCallerid(ch);
    }
    ch.connected = { ...callerId };
    this.pub.newConnectedLine(ch);
  }

  private async awaitLegA(req: OriginateRequest, legA: Channel, report: (o: OriginateOutcome) => void): Promise<void> {
    const onRinging = () => this.pub.dialState(undefined, legA, 'RINGING');
    let outcome = await this.waitOutcome(legA, req.timeoutMs, onRinging);
    if (outcome === 'answer') {
      this.pub.dialEnd(undefined, legA, 'ANSWER');
      this.cdrOf(legA)?.onDialledEnd('ANSWER');
      report({ success: true, reason: 4, channel: legA });
      await this.runPbx(legA, req.context, req.exten, req.priority);
      return;
    }
    // Refused by the far end (486, 503): the control frame the originate saw last.
    if (outcome === 'hangup' && legA.hangupCause === 17) outcome = 'busy';
    else if (outcome === 'hangup' && legA.hangupCause === 34) outcome = 'congestion';
    if (outcome === 'busy' || outcome === 'congestion') {
      const status = outcome === 'busy' ? 'BUSY' : 'CONGESTION';
      this.pub.dialEnd(undefined, legA, status);
      this.cdrOf(legA)?.onDialledEnd(status);
    }
    if (outcome === 'timeout') legA.hangupCause = 19;
    if (!legA.gone) {
      legA.requestHangup(legA.hangupCause);
      await this.destroy(legA);
    }
    report({ success: false, reason: REASON[outcome] ?? 0 });
  }

  // ---------------------------------------------------------------- Dial()

  /**
   * Dial(Local/x@ctx,timeout,options), Dial(PJSIP/user,…) or Dial(PJSIP/number@trunk,…) from
   * `caller`'s dial plan. Options: `f(x)` (the dialled channel's connected line is x, fixture 50);
   * the others are ignored.
   */
  async dial(caller: Channel, data: string): Promise<AppResult> {
    const [target = '', timeoutText = '', optionsText = ''] = splitAppArgs(data);
    const timeoutMs = Number(timeoutText) > 0 ? Number(timeoutText) * 1000 : undefined;
    const forced = forcedConnectedLine(parseAppOptions(optionsText));
    for (const v of DIAL_CLEARED_VARS) this.setVar(caller, v, '');
    if (caller.blindTransferredAt !== undefined) {
      // A blind transfer's transferee dials its new extension no sooner than Asterisk did.
      const wait = caller.blindTransferredAt + TRANSFEREE_DIAL_MS - this.now();
      caller.blindTransferredAt = undefined;
      if (wait > 0 && ((await this.clock.sleep(wait, caller.signal)) === 'aborted' || caller.gone)) return 'hangup';
    }
    const slash = target.indexOf('/');
    const tech = target.slice(0, slash);
    const resource = target.slice(slash + 1);
    const tc = await this.createDialled(caller, tech, resource, forced);
    if (!tc) {
      this.setVar(caller, 'DIALSTATUS', 'CHANUNAVAIL');
      this.cdrOf(caller)?.onDialEnd(caller, 'CHANUNAVAIL', this.now());
      return 'continue';
    }
    caller.dialled = true;
    const dialStart = this.now();
    let rang = false;
    const onRinging = () => {
      if (!rang) {
        rang = true;
        const ms = Math.floor(this.now() - dialStart);
        this.setVar(caller, 'RINGTIME', String(Math.floor(ms / 1000)));
        this.setVar(caller, 'RINGTIME_MS', String(ms));
      }
      this.pub.dialState(caller, tc, 'RINGING');
      // chan_pjsip indicates the ringing to the caller's phone: its device state is recomputed.
      if (caller.tech === 'PJSIP') this.devices.pjsipChanged(caller.device.slice('PJSIP/'.length));
    };
    const outcome = await this.waitOutcome(tc, timeoutMs, onRinging, caller.signal);
    if (outcome === 'answer') {
      this.setVar(caller, 'DIALSTATUS', 'ANSWER');
      this.setVar(caller, 'DIALEDPEERNAME', tc.name);
      this.setVar(caller, 'DIALEDPEERNUMBER', resource);
      // app_dial moves the answered channel off its extension before announcing the answer.
      tc.exten = '';
      this.pub.dialEnd(caller, tc, 'ANSWER');
      if (caller.state !== ChannelState.Up) {
        this.answer(caller);
        this.indicate(caller, 'answer');
      }
      caller.celDialStatus = 'ANSWER';
      const answeredAt = this.now();
      this.cdrOf(caller)?.onDialEnd(caller, 'ANSWER', answeredAt);
      const { transfer, attended } = await this.bridgeCall(caller, tc, {
        clearPeerExten: true,
        // A Local channel cannot take a dial plan of its own: only a phone's or the trunk's is moved.
        transferable: (t) => t.transferee === caller || tc.tech === 'PJSIP',
      });
      if (transfer?.transferee === caller) return this.transferredCaller(caller, tc);
      if (transfer) this.transferredDialled(tc);
      else if (attended?.transferee === caller) {
        // Fixture 61: the caller was moved into the colleague's bridge. The phone's channel it
        // talked to hangs up now (cause 16, no SoftHangupRequest: chan_pjsip ends it); app_dial
        // still holds the caller until it leaves that bridge, then ends as after any bridge.
        tc.requestHangup(16);
        await this.destroy(tc);
        await attended.moved;
      } else if (!attended) {
        // (An attended transfer that took this caller's place: the far end stays where it was put,
        // 62's customer with B, the consultation's B with the transferee; this Dial just ends.)
        if (!tc.hangupCause) tc.hangupCause = 16;
        await this.destroy(tc);
        if (tc.localPeer && tc.localLinked) await this.whenGone(tc.localPeer);
      }
      const now = this.now();
      // app_dial measures ANSWEREDTIME from the caller channel's own answer (fixture 32: leg A answered 1 s before B).
      const talkedSince = caller.answeredAt ?? answeredAt;
      this.setVar(caller, 'ANSWEREDTIME', String(Math.floor((now - talkedSince) / 1000)));
      this.setVar(caller, 'ANSWEREDTIME_MS', String(Math.floor(now - talkedSince)));
      this.setVar(caller, 'DIALEDTIME', String(Math.floor((now - caller.createdAt) / 1000)));
      this.setVar(caller, 'DIALEDTIME_MS', String(Math.floor(now - caller.createdAt)));
      this.setVar(caller, 'DIALSTATUS', 'ANSWER');
      if (!caller.hangupCause) caller.hangupCause = 16;
      caller.waitLocalPeerOnHangup = true;
      return 'hangup';
    }
    let end: string;
    let status: string;
    if (outcome === 'hangup') {
      // The far end refused or never answered (486, 503, 408...): its cause becomes the caller's.
      ({ end, status } = failedDial(tc.hangupCause));
      if (tc.hangupCause && !caller.hangupCause) caller.hangupCause = tc.hangupCause;
      caller.failedDialTechCause ||= tc.techCause;
    } else {
      status = { busy: 'BUSY', congestion: 'CONGESTION', timeout: 'NOANSWER', cancel: 'CANCEL', ringing: 'NOANSWER' }[outcome];
      end = status;
    }
    this.pub.dialEnd(caller, tc, end);
    caller.celDialStatus = status;
    // Dial gives up on an unanswered channel without a cause (fixture 34: Hangup Cause 0).
    if (outcome === 'timeout') tc.hangupCause = tc.hangupCause || 0;
    if (outcome === 'cancel') tc.hangupCause = tc.hangupCause || 16;
    tc.requestHangup(tc.hangupCause);
    await this.destroy(tc);
    this.setVar(caller, 'DIALSTATUS', status);
    this.cdrOf(caller)?.onDialEnd(caller, end, this.now());
    return outcome === 'cancel' ? 'hangup' : 'continue';
  }

  /**
   * The Dial's caller was transferred by the phone it talked to (fixture 59: the PSTN caller,
   * A's REFER). app_dial returns with DIALSTATUS ANSWER — none of the end-of-bridge timers, the
   * bridge did not end by a hangup — and the caller's dial plan goes on where the transfer's goto
   * put it ('jump'). The transferer's channel is hung up (cause 16, no SoftHangupRequest:
   * chan_pjsip ends it after the REFER's 202 and NOTIFYs; the phone's BYE only follows).
   */
  private async transferredCaller(caller: Channel, transferer: Channel): Promise<AppResult> {
    this.setVar(caller, 'DIALSTATUS', 'ANSWER');
    // Like any answered Dial whose peer left, the caller keeps the peer's cause: where its dial plan
    // ends it next, it hangs up with 16 (63: rc-outbound refused it, Hangup Cause 16; 54, never bridged: 0).
    if (!caller.hangupCause) caller.hangupCause = 16;
    transferer.requestHangup(16);
    await this.destroy(transferer);
    return 'jump';
  }

  /**
   * The channel the Dial called was transferred away by the caller's phone (fixture 60: the
   * click-to-call customer's trunk channel, A's REFER). It had no dial plan: it gets one of its own
   * where the transfer's goto put it, and with it its own CDR, answered from the start; the
   * caller's Dial ends as if the far end had left (its own record names this channel).
   */
  private transferredDialled(ch: Channel): void {
    ch.hasCdr = true;
    // It talked before: where its new dial plan ends it, it hangs up with 16 (64: rc-outbound refused it).
    if (!ch.hangupCause) ch.hangupCause = 16;
    this.cdrs.set(ch, new CdrChain(ch, this.now(), true));
    this.background(this.runPbx(ch, ch.context, ch.exten, ch.priority), ch.name);
  }

  /**
   * A phone blind-transfers the party it talks to (a REFER with a Refer-To of `exten`; res_pjsip_refer
   * → ast_bridge_transfer_blind): its channel must be in a two-party bridge. The transferee goes to
   * `exten` in the transferer's endpoint's context (TRANSFER_CONTEXT if set), the transferer hangs
   * up. Undefined when the phone talks to nobody; TransferRefused when the extension does not exist
   * there or the bridge cannot move its party.
   */
  async blindTransfer(user: string, exten: string, referredBy?: string): Promise<{ transferer: Channel; transferee: Channel } | undefined> {
    const bridged = () => this.list().find((c) => c.tech === 'PJSIP' && c.endpoint?.id === user && !c.hangupRequested && c.bridge?.numChannels === 2);
    const first = bridged();
    if (!first) return undefined;
    const context = first.vars.get('TRANSFER_CONTEXT') || first.endpoint?.context || first.context;
    if (!(await this.dialplan.exists(context, exten))) throw new TransferRefused('no-extension', `no extension ${exten} in ${context}`);
    // The lookup took a moment: the call may have ended meanwhile.
    const transferer = bridged();
    const transferee = transferer?.bridge?.peerOf(transferer);
    if (!transferer || !transferee) return undefined;
    const onTransfer = transferer.bridge!.onTransfer;
    // A phone names itself in Referred-By by its AOR at its own host (the contact it registered).
    const host = /@([^:;>]+)/.exec(this.registrations.contact(user)?.uri ?? '')?.[1] ?? '';
    const t: BlindTransfer = { transferer, transferee, context, exten, referredBy: referredBy ?? `<sip:${user}@${host}>` };
    if (!onTransfer?.(t)) throw new TransferRefused('not-transferable', `${transferee.name} cannot be transferred`);
    return { transferer, transferee };
  }

  /** The user's phone's channel in a two-party bridge matching `pick`, if any. */
  private phoneCall(user: string, pick: (ch: Channel, peer: Channel) => boolean = () => true): Channel | undefined {
    return this.list().find((c) => {
      if (c.tech !== 'PJSIP' || c.endpoint?.id !== user || c.hangupRequested || c.bridge?.numChannels !== 2) return false;
      const peer = c.bridge.peerOf(c);
      return peer !== undefined && pick(c, peer);
    });
  }

  /**
   * A phone puts the party it talks to on hold (a re-INVITE sendonly; fixtures 61/62 at +2.5 s):
   * Hold on the phone's channel (MusicClass default), the bridge is reconfigured (its variables
   * set again, members in bridge order: 61 A then the trunk, 62 the trunk then A — the dialled
   * channel entered first), and the held party's device is ONHOLD. Undefined when the phone has
   * no bridged call whose party is not already held.
   */
  hold(user: string): { channel: Channel; held: Channel } | undefined {
    const x = this.phoneCall(user, (_c, peer) => !peer.held);
    const bridge = x?.bridge;
    const y = bridge?.peerOf(x!);
    if (!x || !bridge || !y) return undefined;
    // pjsua's hold re-INVITE reconfigures the bridge before the Hold too (66: a round, Hold, a round 4 ms later).
    if (this.config.pjsuaPhones) for (const m of [...bridge.members]) this.setBridgePeer(m, bridge.peerOf(m)!);
    this.pub.hold(x);
    for (const m of [...bridge.members]) this.setBridgePeer(m, bridge.peerOf(m)!);
    y.held = true;
    this.deviceChanged(y, false);
    return { channel: x, held: y };
  }

  /** BRIDGEPEER and BRIDGEPVTCALLID of `ch` naming `other` (a bridge's reconfiguration). */
  private setBridgePeer(ch: Channel, other: Channel): void {
    this.setVar(ch, 'BRIDGEPEER', other.name);
    if (other.sipCallId) this.setVar(ch, 'BRIDGEPVTCALLID', other.sipCallId);
  }

  /**
   * A phone's attended transfer (a REFER with Replaces naming its consultation call; res_pjsip_refer
   * → ast_bridge_transfer_attended), as Asterisk 22 did it in fixtures 61 and 62. The phone has two
   * calls: the original one, whose party (the transferee) it put on hold, and the consultation it
   * placed itself to a colleague (the target), answered and bridged. The transferee is moved into
   * the consultation's bridge in place of the phone's consultation channel; both of the phone's
   * channels hang up; the target's channel joins the transferee's call (its Linkedid). Undefined
   * when the phone has no such pair of calls; TransferRefused when a party cannot be moved (a
   * Local channel) or the consultation is not a call the phone placed.
   */
  attendedTransfer(user: string): { transferer: Channel; transferee: Channel; target: Channel } | undefined {
    const x1 = this.phoneCall(user, (_c, peer) => peer.held);
    const x2 = this.phoneCall(user, (c, peer) => c !== x1 && !peer.held);
    if (!x1 || !x2) return undefined;
    const b1 = x1.bridge!;
    const b2 = x2.bridge!;
    const y = b1.peerOf(x1)!;
    const z = b2.peerOf(x2)!;
    if (y.tech !== 'PJSIP' || z.tech !== 'PJSIP') throw new TransferRefused('not-transferable', `${y.tech !== 'PJSIP' ? y.name : z.name} cannot be moved`);
    // The consultation's bridge goes on without the phone: it must be the phone's own call (both
    // fixtures), so that nobody's Dial is left waiting in it.
    if (b2.owner !== x2 || !b1.onAttended || !b2.onAttended) throw new TransferRefused('not-transferable', `${x2.name} is not a call the phone placed`);
    this.announceAttendedTransfer(x1, x2, y, z);
    return { transferer: x1, transferee: y, target: z };
  }

  /**
   * What the attended transfer publishes, per channel in the order fixtures 61/62 show (across
   * channels Asterisk's threads interleave freely within the burst):
   *
   * - both of the phone's channels: Unhold; the held party's device is no longer ONHOLD;
   * - ATTENDEDTRANSFER on the transferee (naming the phone's first channel) and on that channel
   *   (naming the transferee);
   * - the transferee leaves the first bridge. A record of its own (its CDR) ends there and the next
   *   starts (61); one that had none (62: a channel the phone's Dial called) becomes party A of a
   *   record of its own, answered from now, naming the target. Without an account code it takes
   *   the target's peer account (61: NewAccountCode '' → 1001);
   * - the consultation channel's bridge variables are cleared, it leaves its bridge, the transferee
   *   enters it (ATTENDEDTRANSFER cleared as it does) and the target's Linkedid becomes the call's
   *   (the older of the two, silently: no event; its snapshots from now on show it);
   * - the bridge is reconfigured: its variables are set on both, twice, three times when the
   *   technology changes (61: the recorded caller cannot go native_rtp, simple_bridge from then
   *   on; 62: native_rtp stays). NewConnectedLine on both: the transferee's after the second
   *   round; the target's after the last round when the technology changed (61), between the two
   *   otherwise (62) — each thread's order as recorded;
   * - the first channel's bridge variables are cleared; SoftHangupRequest (Cause 1) of the
   *   consultation channel; AttendedTransfer with the snapshots of before; the first channel
   *   leaves and the first bridge is destroyed;
   * - then each Dial carries on (see dial()): the consultation channel's Dial ends (its timers,
   *   SoftHangupRequest 16, Hangup, its Cdr); the first channel hangs up (61: it was dialled,
   *   Hangup only; 62: it dialled, its Dial ends as the consultation's does, Cdr at once).
   */
  private announceAttendedTransfer(x1: Channel, x2: Channel, y: Channel, z: Channel): void {
    const b1 = x1.bridge!;
    const b2 = x2.bridge!;
    const snapshot = this.pub.attendedTransferHeaders({ transferer: x1, bridge: b1 }, { transferer: x2, bridge: b2 }, y, z);
    const yOwnsCall = b1.owner === y;
    const now = this.now();
    this.pub.unhold(x1);
    this.pub.unhold(x2);
    if (y.held) {
      y.held = false;
      this.deviceChanged(y, false);
    }
    this.setVar(y, 'ATTENDEDTRANSFER', x1.name);
    this.setVar(x1, 'ATTENDEDTRANSFER', y.name);
    x1.transferredAway = true;
    b1.remove(y);
    this.pub.bridgeLeave(b1, y);
    const chain = this.cdrOf(y);
    if (chain) chain.onMovedToBridge(y, z, now);
    else {
      y.hasCdr = true;
      const own = new CdrChain(y, now, true);
      own.onBridgePeer(z);
      this.cdrs.set(y, own);
    }
    if (!y.accountCode && z.peerAccount) {
      y.accountCode = z.peerAccount;
      this.pub.newAccountCode(y, '');
    }
    this.clearBridgeVars(x2);
    b2.remove(x2);
    this.pub.bridgeLeave(b2, x2);
    b2.add(y);
    this.pub.bridgeEnter(b2, y, x2);
    this.clearTransferMark(y);
    this.joinLinkedid(z, y.linkedid);
    const round = () => {
      this.setBridgePeer(y, z);
      this.setBridgePeer(z, y);
    };
    round();
    this.clearBridgeVars(x1);
    this.pub.softHangupRequest(x2, 1);
    const nativeNow = this.nativeRtpCapable(y) && this.nativeRtpCapable(z) ? 'native_rtp' : 'simple_bridge';
    const connect = (ch: Channel, other: Channel) => {
      ch.connected = { ...other.callerId };
      this.pub.newConnectedLine(ch);
    };
    this.pub.emit('AttendedTransfer', 'call,all', snapshot);
    b1.remove(x1);
    this.pub.bridgeLeave(b1, x1);
    this.pub.bridgeDestroy(b1);
    if (this.config.pjsuaPhones) {
      // 66 (pjsua phones, native_rtp kept): both connected lines between the second and third rounds.
      round();
      connect(y, z);
      connect(z, y);
      b2.technology = nativeNow;
      round();
    } else if (b2.technology !== nativeNow) {
      round();
      connect(y, z);
      b2.technology = nativeNow;
      round();
      connect(z, y);
    } else {
      connect(z, y);
      round();
      connect(y, z);
    }
    const moved = this.attendedBridge(b2, y, z, yOwnsCall);
    this.background(moved, `bridge ${b2.id}`);
    const move: AttendedMove = { transferee: y, target: z, moved };
    // The Dials waiting in both bridges go on (their continuations run after this burst).
    b1.onAttended!(move);
    b2.onAttended!(move);
    x2.requestHangup(16);
  }

  /** A channel joins another call: its Linkedid becomes the older of the two, silently (fixtures 61/62: B's). */
  private joinLinkedid(ch: Channel, linkedid: string): void {
    const seq = (id: string) => Number(id.slice(id.indexOf('.') + 1));
    if (seq(linkedid) >= seq(ch.linkedid)) return;
    const left = (this.linkedCount.get(ch.linkedid) ?? 1) - 1;
    if (left <= 0) this.linkedCount.delete(ch.linkedid);
    else this.linkedCount.set(ch.linkedid, left);
    ch.linkedid = linkedid;
    this.linkedCount.set(linkedid, (this.linkedCount.get(linkedid) ?? 0) + 1);
  }

  /**
   * The consultation's bridge after an attended transfer: the transferee and the target talk until
   * one hangs up (61: the caller's BYE; 62: B's). Both leave (bridge variables cleared, the one
   * hanging up first), the bridge is destroyed, and the channels without a dial plan of their own
   * hang up: the target always, the transferee when it was a channel the phone's Dial called (62);
   * a transferee with a dial plan (61: the caller, still in its Dial) goes on there.
   */
  private async attendedBridge(bridge: Bridge, y: Channel, z: Channel, yOwnsCall: boolean): Promise<void> {
    const leaver = await new Promise<Channel>((resolve) => {
      if (y.signal.aborted) return resolve(y);
      if (z.signal.aborted) return resolve(z);
      const a = () => done(y);
      const b = () => done(z);
      const done = (ch: Channel) => {
        y.signal.removeEventListener('abort', a);
        z.signal.removeEventListener('abort', b);
        resolve(ch);
      };
      y.signal.addEventListener('abort', a, { once: true });
      z.signal.addEventListener('abort', b, { once: true });
    });
    const other = leaver === y ? z : y;
    this.clearBridgeVars(leaver);
    this.clearBridgeVars(other);
    bridge.remove(leaver);
    this.pub.bridgeLeave(bridge, leaver);
    bridge.remove(other);
    this.pub.bridgeLeave(bridge, other);
    this.pub.bridgeDestroy(bridge);
    z.requestHangup(16);
    await this.destroy(z);
    if (!yOwnsCall) {
      y.requestHangup(16);
      await this.destroy(y);
    }
  }

  /**
   * A phone hangs up its calls (BYE on each answered one): the far end of a SIP dialog ends it.
   * The channels it hung up; none when the phone had no answered call.
   */
  hangUpPhone(user: string): Channel[] {
    const mine = this.list().filter((c) => c.tech === 'PJSIP' && c.endpoint?.id === user && !c.hangupRequested && c.state === ChannelState.Up);
    for (const ch of mine) this.remoteHangup(ch, 16);
    return mine;
  }

  /**
   * What a blind transfer publishes while both channels are still in the bridge (fixtures 59/60):
   * Unhold of the transferer, BLINDTRANSFER on both, res_pjsip_refer's variables on the
   * transferee (`__SIPREFERREDBYHDR` is inherited by whatever it dials next), the bridge
   * variables set once more and cleared, BlindTransfer, and the transferee's goto. The Newexten
   * of the goto shows the new place with the application the transferee is still in (59: its Dial
   * of A; 60: AppDial); the first step there publishes none (Channel.announcedPlace).
   */
  private announceBlindTransfer(bridge: Bridge, t: BlindTransfer, transfererDialled: boolean): void {
    const { transferer: x, transferee: y } = t;
    this.pub.unhold(x);
    this.setVar(y, 'BLINDTRANSFER', x.name);
    this.setVar(x, 'BLINDTRANSFER', y.name);
    this.setVar(y, 'SIPTRANSFER', 'yes');
    this.setVar(y, 'SIPREFERRINGCONTEXT', t.context);
    // The phone's Referred-By, and its Refer-To: the extension at the PBX's SIP address.
    this.setVar(y, '__SIPREFERREDBYHDR', t.referredBy);
    this.setVar(y, 'SIPREFERTOHDR', `sip:${t.exten}@${this.config.sipAddress ?? DEFAULT_SIP_ADDRESS}`);
    // The bridge is reconfigured twice (the transfer's start, the transferee's pull): the peer
    // variables are set once more, then cleared. The transferee's thread does it in that order;
    // the transferer's two rounds came set→clear when it was the dialled channel (59), clear→set
    // when it had dialled (60): each thread's order as recorded.
    const setPeer = (ch: Channel, other: Channel) => {
      this.setVar(ch, 'BRIDGEPEER', other.name);
      if (other.sipCallId) this.setVar(ch, 'BRIDGEPVTCALLID', other.sipCallId);
    };
    if (transfererDialled) setPeer(x, y);
    else this.clearBridgeVars(x);
    setPeer(y, x);
    // With pjsua phones the bridge was reconfigured once more before the transferee's pull (65: the
    // transferer's peer variables set twice, the transferee's twice before they are cleared).
    if (this.config.pjsuaPhones) {
      setPeer(x, y);
      setPeer(y, x);
    }
    this.clearBridgeVars(y);
    if (transfererDialled) this.clearBridgeVars(x);
    else setPeer(x, y);
    this.pub.blindTransfer(x, y, bridge, t.context, t.exten);
    y.blindTransferredAt = this.now();
    x.transferredAway = true;
    y.context = t.context;
    y.exten = t.exten;
    y.priority = 1;
    this.cdrOf(y)?.onGoto(y);
    this.pub.newexten(y);
    y.announcedPlace = y.place;
  }

  /**
   * Creates and calls the outgoing channel of a Dial(); undefined when it cannot be created.
   * `forced`: its connected line (Dial's `f(x)`) instead of the caller's caller id.
   */
  private async createDialled(caller: Channel, tech: string, resource: string, forced?: PartyId): Promise<Channel | undefined> {
    if (tech.toLowerCase() === 'local') {
      const [exten = '', context = ''] = resource.split('@');
      if (!exten || !context || !(await this.dialplan.exists(context, exten))) return undefined;
      const [one, two] = this.createLocalPair(exten, context, caller.linkedid, caller.accountCode);
      one.hasCdr = false;
      this.announce(one);
      this.announce(two);
      this.setVar(one, 'DIALEDPEERNUMBER', resource);
      this.inheritVariables(caller, one);
      this.presentCaller(caller, one, 'AppDial', forced);
      this.setVar(two, 'DIALEDPEERNUMBER', resource);
      two.callerId = { ...one.connected };
      two.connected = { ...one.callerId };
      two.ani = two.callerId.num;
      this.pub.newCallerid(two);
      this.pub.newConnectedLine(two);
      one.localLinked = two.localLinked = true;
      this.pub.localBridge(one, two, context, exten);
      this.pub.dialBegin(caller, one, resource);
      this.cdrOf(caller)?.onDialBegin(caller, one, this.now());
      this.background(this.runPbx(two, context, exten, 1), two.name);
      return one;
    }
    if (tech.toUpperCase() === 'PJSIP') {
      // PJSIP/<endpoint> calls the endpoint's contact; PJSIP/<number>@<endpoint> sends the number in the request URI.
      const at = resource.lastIndexOf('@');
      const endpointId = at >= 0 ? resource.slice(at + 1) : resource;
      const number = at >= 0 ? resource.slice(0, at) : undefined;
      const endpoint = await this.findEndpoint(endpointId);
      if (!endpoint || !this.phones.reachableForCalls(endpoint)) return undefined;
      const tc = this.createPjsip(endpoint, ChannelState.Down, 's', caller.linkedid);
      tc.hasCdr = false;
      this.announce(tc);
      this.setVar(tc, 'DIALEDPEERNUMBER', resource);
      this.inheritVariables(caller, tc);
      this.presentCaller(caller, tc, 'AppDial', forced);
      this.pub.dialBegin(caller, tc, resource);
      // The outgoing channel's identity is the caller's connected line from now on.
      caller.connected = { ...tc.callerId };
      this.pub.newConnectedLine(caller);
      this.cdrOf(caller)?.onDialBegin(caller, tc, this.now());
      if (endpoint.fromConfig) {
        // chan_pjsip sends the outgoing channel's connected line as the caller (From).
        this.trunkInvites.push({ number: number ?? '', caller: { ...tc.connected }, channel: tc.name });
        if (this.trunkInvites.length > TRUNK_INVITES_KEPT) this.trunkInvites.shift();
        this.background(this.pstn(tc, number ?? ''), `pstn ${number}`);
      }
      else this.ringPhone(tc, endpointId, !caller.hangsUpAfterTalk);
      return tc;
    }
    return undefined;
  }

  /**
   * What Dial() sets on the outgoing channel (app_dial.c): when the channel driver gave it no
   * caller number, the caller's exten as number and the caller's connected name as name (else
   * only a missing name); the caller's account code when the channel has none; the caller as
   * connected line, or `forced` (Dial's `f(x)`: ast_channel_set_connected_line with x; the
   * caller's own caller id is left alone, fixture 50).
   */
  presentCaller(caller: Channel, tc: Channel, appl: 'AppDial' | 'AppQueue', forced?: PartyId): void {
    tc.exten = caller.exten;
    let callerChanged = false;
    if (!tc.callerId.num) {
      tc.callerId = { num: caller.exten, name: caller.connected.name || caller.callerId.name };
      callerChanged = true;
    } else if (!tc.callerId.name && caller.connected.name) {
      tc.callerId = { ...tc.callerId, name: caller.connected.name };
      callerChanged = true;
    }
    // ast_channel_req_accountcodes_precious(): the caller's account code, when it has one, for a
    // channel without its own (fixture 42: the trunk's empty code leaves the phone's 1001).
    const oldAccount = tc.accountCode;
    if (caller.accountCode && !tc.accountCode) tc.accountCode = caller.accountCode;
    tc.connected = { ...(forced ?? caller.callerId) };
    tc.peerAccount = caller.accountCode;
    tc.outgoingAppl = appl;
    this.execute(tc, appl, '(Outgoing Line)');
    if (callerChanged) this.pub.newCallerid(tc);
    if (oldAccount !== tc.accountCode) this.pub.newAccountCode(tc, oldAccount);
    this.pub.newConnectedLine(tc);
  }

  /**
   * Bridges the caller with the answered channel until one of them is asked to hang up; the
   * bridge is then dissolved (the one leaving first). Returns the one that left first.
   */
  async bridgeCall(
    caller: Channel,
    peer: Channel,
    opts: {
      clearPeerExten: boolean;
      afterFirstLeave?: (leaver: Channel) => Promise<void>;
      /**
       * Whether a phone in the bridge may blind-transfer this party (unset: nobody can be
       * transferred, blind or attended: only a Dial()'s bridge carries transfers out).
       */
      transferable?: (t: BlindTransfer) => boolean;
    },
  ): Promise<BridgeEnd> {
    const bridge = new Bridge();
    bridge.owner = caller;
    const extra = JSON.stringify({ bridge_id: bridge.id, bridge_technology: 'simple_bridge' });
    this.pub.bridgeCreate(bridge);
    if (opts.clearPeerExten) this.pub.newexten(peer);
    bridge.add(peer);
    this.pub.bridgeEnter(bridge, peer);
    this.clearTransferMark(peer);
    this.pub.cel(peer, 'BRIDGE_ENTER', { extra });
    bridge.add(caller);
    this.pub.cel(caller, 'BRIDGE_ENTER', { peer: peer.name, extra });
    this.pub.bridgeEnter(bridge, caller);
    this.clearTransferMark(caller);
    const setBridgeVars = () => {
      this.setVar(peer, 'BRIDGEPEER', caller.name);
      if (caller.sipCallId) this.setVar(peer, 'BRIDGEPVTCALLID', caller.sipCallId);
      this.setVar(caller, 'BRIDGEPEER', peer.name);
      if (peer.sipCallId) this.setVar(caller, 'BRIDGEPVTCALLID', peer.sipCallId);
    };
    setBridgeVars();
    if (this.nativeRtpCapable(caller) && this.nativeRtpCapable(peer)) {
      // The smart bridge moves the call to native_rtp: each reconfiguration sets the bridge
      // variables again (fixture 47: three rounds, BridgeLeave/BridgeDestroy say native_rtp).
      bridge.technology = 'native_rtp';
      setBridgeVars();
      setBridgeVars();
      // pjsua phones' answer re-INVITE reconfigures it once more (66's consultation: four rounds).
      if (this.config.pjsuaPhones) setBridgeVars();
    } else if (this.config.pjsuaPhones && caller.fromPstn && !caller.bridgedAt) {
      // A call the pjsua PSTN placed: its first bridge sets the variables once more (67, 3 ms later;
      // SIPp's call in 59 had one round). The recordings do not show why.
      setBridgeVars();
    }
    const now = this.now();
    caller.bridgedAt ??= now;
    peer.bridgedAt ??= now;

    const ended = await new Promise<BridgeEnd>((resolve) => {
      if (caller.signal.aborted) return resolve({ leaver: caller });
      if (peer.signal.aborted) return resolve({ leaver: peer });
      const a = () => end({ leaver: caller });
      const b = () => end({ leaver: peer });
      const end = (e: BridgeEnd) => {
        caller.signal.removeEventListener('abort', a);
        peer.signal.removeEventListener('abort', b);
        bridge.onTransfer = undefined;
        bridge.onAttended = undefined;
        resolve(e);
      };
      caller.signal.addEventListener('abort', a, { once: true });
      peer.signal.addEventListener('abort', b, { once: true });
      const transferable = opts.transferable;
      if (transferable) {
        // An attended transfer publishes everything itself (announceAttendedTransfer): the bridge is its now.
        bridge.onAttended = (m) => end({ leaver: caller, attended: m });
        bridge.onTransfer = (t) => {
          if (!transferable(t)) return false;
          this.announceBlindTransfer(bridge, t, t.transferer === peer);
          end({ leaver: t.transferee, transfer: t });
          return true;
        };
      }
    });
    if (ended.attended) return ended;
    const leaver = ended.leaver;
    const other = leaver === caller ? peer : caller;
    // A transfer set and cleared the bridge variables already (announceBlindTransfer).
    if (!ended.transfer) {
      this.clearBridgeVars(leaver);
      this.clearBridgeVars(other);
    }
    this.pub.cel(leaver, 'BRIDGE_EXIT', { peer: other.name, extra });
    bridge.remove(leaver);
    this.pub.bridgeLeave(bridge, leaver);
    await opts.afterFirstLeave?.(leaver);
    bridge.remove(other);
    this.pub.bridgeLeave(bridge, other);
    this.pub.cel(other, 'BRIDGE_EXIT', { extra });
    this.pub.bridgeDestroy(bridge);
    return ended;
  }

  /**
   * Whether a channel lets its two-party bridge go native_rtp. Derived from the recordings, not
   * from bridge_native_rtp.c: 47 (two PJSIP calls Asterisk placed itself, to phones, nothing
   * recording) switched; 36 (the caller's own INVITE with the phone it dialled) and every recorded
   * call with a MixMonitor (an audiohook needs the frames: 32, 42, 45) stayed simple_bridge; a
   * phone's own INVITE did switch in the ninth lab (61/62's consultation, `ownInviteNativeRtp`).
   */
  private nativeRtpCapable(ch: Channel): boolean {
    if (ch.tech !== 'PJSIP' || ch.recordings.length > 0) return false;
    return ch.outgoingAppl !== '' || (!!this.config.ownInviteNativeRtp && !!ch.endpoint && !ch.endpoint.fromConfig);
  }

  private clearBridgeVars(ch: Channel): void {
    this.setVar(ch, 'BRIDGEPEER', '');
    if (ch.vars.has('BRIDGEPVTCALLID')) this.setVar(ch, 'BRIDGEPVTCALLID', '');
  }

  /**
   * A transferred channel entering its next bridge clears BLINDTRANSFER (fixtures 59/60: the
   * transferee joining B) or ATTENDEDTRANSFER (61/62: the transferee entering B's bridge).
   */
  private clearTransferMark(ch: Channel): void {
    if (ch.vars.get('BLINDTRANSFER')) this.setVar(ch, 'BLINDTRANSFER', '');
    if (ch.vars.get('ATTENDEDTRANSFER')) this.setVar(ch, 'ATTENDEDTRANSFER', '');
  }

  // ---------------------------------------------------------------- calls injected by the control API

  /** The Call-ID of an INVITE a simulated phone or the PSTN sent (SIPp's form, `<n>-<pid>@<ip>`; pjsua's are UUIDs, as Asterisk's own). */
  private remoteCallId(): string {
    if (this.config.pjsuaPhones) return randomUUID();
    return `${++this.callIdSeq}-${process.pid}@127.0.0.1`;
  }

  /**
   * A call from the PSTN arrives on the trunk: `PJSIP/trunk-…` in the trunk endpoint's context
   * (from-pstn) with the dialled number as exten (fixture 37). `virtualRows` are realtime rows
   * the call carries for itself (the deprecated `to_user` form).
   */
  async inboundCall(from: string, to: string, virtualRows?: VirtualRows): Promise<Channel> {
    const trunk = [...this.config.pjsip.endpoints.values()].find((e) => e.context) ?? this.config.pjsip.endpoints.values().next().value;
    if (!trunk) throw new Error('no trunk endpoint in pjsip.conf');
    const ch = this.createPjsip(trunk, ChannelState.Ring, to);
    ch.sipCallId = this.remoteCallId();
    ch.fromPstn = true;
    ch.callerId = { num: from, name: '' };
    ch.virtualRows = virtualRows;
    this.announce(ch);
    this.setVar(ch, 'SIPDOMAIN', '127.0.0.1');
    // The PSTN caller hangs up (fixtures 42, 43), not the employee.
    this.hangUpAfterTalk(ch);
    this.background(this.runPbx(ch, ch.context, to, 1), ch.name);
    return ch;
  }

  /** The caller of a call placed from outside (a phone, the PSTN) sends BYE the talk time after it was answered. */
  private hangUpAfterTalk(ch: Channel): void {
    ch.hangsUpAfterTalk = true;
    this.background(
      (async () => {
        await Promise.race([ch.answered, this.whenGone(ch)]);
        if (ch.gone || ch.answeredAt === undefined) return;
        if ((await this.clock.sleep(this.config.talkMs, ch.signal)) === 'elapsed') this.remoteHangup(ch, 16);
      })(),
      `caller ${ch.name}`,
    );
  }

  /**
   * A registered phone dials a number: its INVITE arrives in its account's context (fixture 36),
   * whose dial plan rings a colleague or goes out through the trunk. The phone hangs up (BYE) after
   * the talk time once the call is answered.
   */
  async callFromPhone(endpoint: EndpointRow, num: string): Promise<Channel> {
    const ch = this.createPjsip(endpoint, ChannelState.Ring, num);
    ch.sipCallId = this.remoteCallId();
    this.announce(ch);
    this.setVar(ch, 'SIPDOMAIN', '127.0.0.1');
    this.hangUpAfterTalk(ch);
    this.background(this.runPbx(ch, ch.context, num, 1), ch.name);
    return ch;
  }
}
