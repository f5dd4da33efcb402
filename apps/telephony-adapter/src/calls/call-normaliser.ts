import path from 'node:path';
import { EXTENSION_PATTERN } from '@ringcloud/contracts-common';
import type { OpenCall } from '@ringcloud/contracts-calls';
import { Direction, Disposition, RingingParty, TransferKind, dialledDirection } from '@ringcloud/contracts-telephony';
import { AmiMessage, eventName, field, isUnknown, varSet } from '../ami/ami-message';
import { Envelope, RecordingJob, TelephonyDomainEvent, TelephonyEventKind, localDateTime } from './domain-events';

/** What the adapter sent for an originate: ties `RC_CALL_ID` and `OriginateResponse` to the request. */
export interface OriginateIntent {
  actionId: string;
  callId: string;
  accountId: number;
  user: string;
  /** The dialled number (party B). */
  num: string;
  /** The caller number shown for the call: the user's extension (or the user). */
  src: string;
  at: number;
}

export interface DirectoryEntry {
  accountId: number;
  num: string;
}

export interface NormaliserOptions {
  node: string;
  now?: () => number;
  /** Account number of a dial-plan context (`acct-1001` → 1001), or null. Also used for CDR userfields. */
  accountFromContext?: (context: string) => number | null;
  /** Provisioned users, to turn a dialled `PJSIP/<user>` into that user's extension. */
  directory?: (user: string) => DirectoryEntry | undefined;
  /**
   * Whether a number is the extension of a live user of the account (undefined: not known), for the
   * direction of a call before the dial plan has dialled anything (UserDirectory.isExtension).
   */
  isExtension?: (accountId: number, num: string) => boolean | undefined;
  /** How long an ended call is kept for its late CDR and stray events. */
  retainMs?: number;
}

export type NormaliserOutput =
  | TelephonyDomainEvent
  | { kind: 'recording'; job: RecordingJob }
  | { kind: 'originate-result'; actionId: string; response: string; reason: number | null }
  /**
   * Start MixMonitor on a live channel (AMI action MixMonitor): a transferred call's recording goes
   * on on the channel that stayed (`file`: Asterisk's own path, in the folder of the first part).
   */
  | { kind: 'record-channel'; channel: string; file: string }
  /** A resync finished; `adopted` are calls found live that this process knew nothing about. */
  | { kind: 'resynced'; adopted: AdoptedCall[] };

/**
 * The recording a call that ended unseen left behind: the dial plan names it after the call's first
 * channel (`${UNIQUEID}.wav` on leg A, or the PSTN caller's channel), whose Uniqueid is the Linkedid.
 */
export interface LeftRecording {
  fileName: string;
  /** The later parts of a transferred call's recording (`<Uniqueid>-2.wav` …), in order. */
  continuation?: string[];
  /** When MixMonitor began and last wrote: the file's birth and modification times. */
  startedAtMs: number;
  lastWriteMs: number;
}

export interface AdoptedCall {
  linkedid: string;
  /** The call's first channel, to read RC_* variables from (Getvar). */
  channel: string;
  /** Its live channels, to find the recordings running on them (Getvar MIXMONITOR_FILENAME). */
  channels: string[];
}

interface Channel {
  uniqueid: string;
  linkedid: string;
  name: string;
  context: string;
  exten: string;
  state: string;
  callerIdNum: string;
  callerIdName: string;
  connectedLineNum: string;
  connectedLineName: string;
  createdAt: number;
  /** Resync generation the channel was first seen in: only older channels can be found gone. */
  generation: number;
  hungUp: boolean;
  cause: number;
  causeTxt: string;
  /** MIXMONITOR_FILENAME as Asterisk set it (its own absolute path). */
  mixMonitorPath?: string;
  recording?: { file: string; startedAt: number; done: boolean };
  /** A MixMonitor was asked for on this channel (record-channel) and has not started yet. */
  recordingRequested?: boolean;
  /** The channel ran VoiceMail(): the caller stays on after the Dial's CDR ends (fixtures 40, 41, 43). */
  voicemail?: boolean;
}

interface Call {
  /** Linkedid, or `action:<ActionID>` for an originate that never created a channel. */
  key: string;
  linkedid: string;
  callId?: string;
  seq: number;
  started: boolean;
  answered: boolean;
  ended: boolean;
  endedAt?: number;
  cdrDone: boolean;
  /** Found live by a resync: its `started` waits until its RC_* variables were read. */
  pendingAdoption: boolean;
  /** How calls-service described the call before this process adopted it (applyKnownCall). */
  known?: { direction: Direction; src: string | null; dst: string | null; user: string | null; startedAt: number | null; answeredAt: number | null };
  direction?: Direction;
  /**
   * Where the dial plan sent a call an employee placed, from its first `Dial()`: a user's phone
   * (`internal`) or an endpoint that is no user, the trunk (`outgoing`). Truer than the number's
   * length: a short number no colleague has (`777`, a deleted colleague's extension) goes out.
   */
  routed?: Extract<Direction, 'internal' | 'outgoing'>;
  /** Started by an originate (the API's, or one found by its RC_CALL_ID): leg A is the employee's phone. */
  originated?: boolean;
  src: string;
  dst: string;
  user: string | null;
  account: number | null;
  vars: Record<string, string>;
  intent?: OriginateIntent;
  channels: Map<string, Channel>;
  primary?: string;
  hangupOrder: string[];
  bridges: Map<string, Set<string>>;
  bridgedEmitted: Set<string>;
  /** Parties whose `ringing` was emitted (once each). */
  rungParties?: Set<RingingParty>;
  dialledUser?: string;
  dialledExt?: string;
  /** Exten from OriginateResponse (the dialled number) when no intent is known. */
  originateExten?: string;
  /** Incoming: the number first dialled (the DID), replaced by the extension that was rung. */
  linkedExten?: string;
  /** The last Dial()'s outcome (VarSet DIALSTATUS), which can say more than the CDR. */
  dialStatus?: string;
  /** The first CDR, held until the CDR of the voicemail that followed its Dial tells when the caller hung up. */
  heldCdr?: AmiMessage;
  /**
   * A phone transferred the call (BlindTransfer / AttendedTransfer): it goes on with the colleague,
   * so its record is every CDR of its channels, sent once its last channel hung up.
   */
  transfer?: Transfer;
  /**
   * The call's recording goes on in more files than the first (a transfer took away the channel it
   * was recorded on): one recording job with every part, once the call ended.
   */
  recordingParts?: RecordingParts;
}

interface RecordingParts {
  /** The first part (its file names the whole) and the channel it was recorded on ('' if unknown). */
  first: { file: string; startedAt: number; channel: string };
  /** File names of the later parts, in order, asked for (record-channel) or started. */
  next: string[];
  /** Found by a resync (adoptRecording): parts before the running one were recorded unseen, on channels gone since. */
  adopted?: boolean;
}

/** What a call's record says, from one CDR or several. */
interface CdrRecord {
  start: string;
  answer: string;
  end: string;
  duration: number;
  billsec: number;
  disposition: Disposition;
  uniqueid: string;
}

interface Transfer {
  /** The CDRs of the call's channels so far (the employee's part, the colleague's part, …). */
  cdrs: AmiMessage[];
  /** Records sent: a CDR that comes after the first one widens the record with a second one. */
  sent: number;
  /**
   * The channel the call was transferred to: the colleague's phone an attended transfer joined, or
   * what the dial plan dialled after a blind one. The CDR of that part (its DestinationChannel)
   * comes last — before or just after the last Hangup (59, 62 / 61) — so the record waits for it.
   */
  target?: string;
  /** A blind transfer's extension, until the dial plan dials it (then `transferred` is sent). */
  pendingBlind?: { to: string; byUser: string | null; transferer: string };
}

/** A later part of a transferred call's recording: `<first part's Uniqueid>-<n>.wav`, n ≥ 2 (continueRecording). */
export const RECORDING_PART = /^(\d+(?:\.\d+)?)-([2-9]|[1-9]\d)\.wav$/;
/** The name of part `n` (≥ 2) of the recording whose first part is `<base>.wav`. */
export const recordingPartName = (base: string, n: number) => `${base}-${n}.wav`;

/** Seq numbers of calls adopted by a resync start here, above anything emitted before a restart. */
export const ADOPTED_SEQ_BASE = 1000;
/** Seq of the `ended` of a forgotten call (endForgotten): above an adopted call's events too. */
export const FORGOTTEN_SEQ = 1_000_000;

/** Events that describe a channel being set up; the call "starts" on the first event after them. */
const SETUP_EVENTS = new Set(['newchannel', 'varset', 'newcallerid', 'newconnectedline', 'newaccountcode', 'rename', 'localbridge']);
const DIAL_EVENTS = new Set(['dialbegin', 'dialstate', 'dialend']);

const DISPOSITIONS: Record<string, Disposition> = {
  ANSWERED: 'ANSWERED',
  'NO ANSWER': 'NO ANSWER',
  BUSY: 'BUSY',
  FAILED: 'FAILED',
  CONGESTION: 'FAILED',
};

/**
 * The CDR's disposition, corrected where Dial() knew better:
 * - a trunk that never answered the INVITE (SIP timer B, 408) is `NO ANSWER` in the CDR but
 *   `CHANUNAVAIL` in DIALSTATUS — nobody was reached, so FAILED (fixture 35);
 * - a Dial() that could not create the callee's channel (a phone that is not registered) and a dial
 *   plan that went on to VoiceMail() give one CDR, ANSWERED by the mailbox, without a
 *   DestinationChannel — the user did not answer: NO ANSWER.
 */
function dispositionOf(cdrDisposition: string, dialStatus: string | undefined, destinationChannel = ''): Disposition {
  const disposition = DISPOSITIONS[cdrDisposition.toUpperCase()] ?? 'FAILED';
  if (dialStatus !== 'CHANUNAVAIL') return disposition;
  if (disposition === 'NO ANSWER') return 'FAILED';
  if (disposition === 'ANSWERED' && !destinationChannel) return 'NO ANSWER';
  return disposition;
}

/** OriginateResponse `Reason` of a failed originate → disposition and Q.850 cause. */
const ORIGINATE_FAILURES: Record<number, { disposition: Disposition; cause: number; causeTxt: string }> = {
  0: { disposition: 'FAILED', cause: 0, causeTxt: 'Originate failed (no channel: device unreachable or unknown)' },
  1: { disposition: 'FAILED', cause: 16, causeTxt: 'Originate failed (hung up)' },
  3: { disposition: 'NO ANSWER', cause: 19, causeTxt: 'No answer' },
  5: { disposition: 'BUSY', cause: 17, causeTxt: 'User busy' },
  8: { disposition: 'FAILED', cause: 34, causeTxt: 'Circuit/channel congestion' },
};

const PJSIP_CHANNEL = /^PJSIP\/(.+)-[0-9a-f]{8}$/;
const USER_NAME = /^[1-9][0-9]{5,14}$/;
const LOCAL_EXTEN = /^Local\/([0-9]{2,6})@[^;]+-[0-9a-f]+;[12]$/;

export const defaultAccountFromContext = (context: string): number | null => {
  const m = /^acct-([1-9][0-9]{0,9})$/.exec(context);
  return m ? Number(m[1]) : null;
};

/**
 * The one place AMI events become telephony domain events. Pure: AMI messages in (in the order
 * they arrived), zero or more domain events out, with per-call state in between. No I/O, no
 * timers; time comes from `now`.
 *
 * A call is everything sharing a Linkedid. Its `call_id` is the RC_CALL_ID set at originate (for
 * calls the API started), else `<node>:<Linkedid>`. Per call: `started` once (on the first event
 * past channel set-up, so RC_CALL_ID is known), `answered` once (its first channel is Up),
 * `bridged` once per bridge holding two of its channels, `ended` once (its last channel hung up,
 * or found gone by a resync: `reconciled`), `cdr` once (the first Cdr of its first channel — the
 * one Asterisk's own reports show; later forks are ignored — or, for a call a phone transferred,
 * every CDR of its channels merged, once the call ended), and a recording job per MixMonitor.
 * `seq` counts a call's events; `event_id` is `<node>:<linkedid>:<kind>[:<bridge|file>]`, so the
 * same fact normalised twice (after a reconnect, a restart, or by a second replica) carries the
 * same JetStream msgID and is stored once.
 */
export class CallNormaliser {
  private readonly calls = new Map<string, Call>();
  private readonly byUniqueid = new Map<string, string>();
  private readonly byCallId = new Map<string, string>();
  private readonly tombstones = new Map<string, number>();
  private readonly intentsByAction = new Map<string, OriginateIntent>();
  private readonly intentsByCall = new Map<string, OriginateIntent>();
  private generation = 0;
  private resync?: { actionId: string; generation: number; items: AmiMessage[] };
  private readonly now: () => number;
  private readonly accountFromContext: (context: string) => number | null;
  private readonly retainMs: number;

  constructor(private readonly options: NormaliserOptions) {
    this.now = options.now ?? Date.now;
    this.accountFromContext = options.accountFromContext ?? defaultAccountFromContext;
    this.retainMs = options.retainMs ?? 120_000;
  }

  get node(): string {
    return this.options.node;
  }

  // ---- inputs besides AMI events ------------------------------------------------------------

  /** Called before an Originate is written, so its events and a channel-less failure map to the request. */
  registerIntent(intent: OriginateIntent): void {
    this.intentsByAction.set(intent.actionId, intent);
    this.intentsByCall.set(intent.callId, intent);
  }

  hasIntent(actionId: string): boolean {
    return this.intentsByAction.has(actionId);
  }

  forgetIntent(actionId: string): void {
    const intent = this.intentsByAction.get(actionId);
    this.intentsByAction.delete(actionId);
    if (intent) this.intentsByCall.delete(intent.callId);
  }

  /** The connection was (re)established and CoreShowChannels was sent with this ActionID. */
  beginResync(actionId: string): void {
    this.generation++;
    this.resync = { actionId, generation: this.generation, items: [] };
  }

  abortResync(): void {
    this.resync = undefined;
  }

  /** RC_* variables read (Getvar) from an adopted call's channel. */
  applyAdoptedVars(linkedid: string, vars: Record<string, string | undefined>): void {
    const call = this.calls.get(linkedid);
    if (!call) return;
    for (const [name, value] of Object.entries(vars)) if (value) this.applyCallVar(call, name, value);
  }

  /**
   * A MixMonitor found running on an adopted call's channel (its MIXMONITOR_FILENAME, read with
   * Getvar): stored when the call ends, as if this process had seen it start — without it an adapter
   * restart mid-call lost the call's recording. A later part of a transferred call's recording
   * (`<Uniqueid>-<n>.wav`, continueRecording's name) is stored with the parts before it, the first
   * part (recorded on the employee's channel, gone at the transfer) named after the same Uniqueid.
   */
  adoptRecording(linkedid: string, channel: string, mixMonitorPath: string): void {
    const call = this.calls.get(linkedid);
    const ch = call && [...call.channels.values()].find((c) => c.name === channel && !c.hungUp);
    if (!call || call.ended || !ch || ch.recording || !mixMonitorPath) return;
    const file = path.posix.basename(mixMonitorPath);
    // Asterisk says nothing of when it began: the channel's start is the closest known.
    ch.mixMonitorPath = mixMonitorPath;
    ch.recording = { file, startedAt: ch.createdAt, done: false };
    const part = RECORDING_PART.exec(file);
    if (!part || call.recordingParts) return;
    const [, base, n] = part;
    call.recordingParts = {
      first: { file: `${base}.wav`, startedAt: firstSeenAt(call), channel: '' },
      next: Array.from({ length: Number(n) - 1 }, (_, i) => recordingPartName(base, i + 2)),
      adopted: true,
    };
  }

  /**
   * What calls-service holds of a call adopted by a resync (CallsOpenOnNode): its id and how it was
   * described before this process started. Truer than the channels left now: a transfer took the
   * employee's channel, and with it the RC_* variables and what made the call outgoing; a
   * transferred call's record is every CDR of its channels.
   */
  applyKnownCall(linkedid: string, known: OpenCall): void {
    const call = this.calls.get(linkedid);
    if (!call || call.started) return;
    this.applyCallVar(call, 'RC_CALL_ID', known.call_id);
    if (call.callId !== known.call_id) return; // the channel named another call: it wins
    call.account ??= known.account_id;
    const time = (iso: string | null | undefined) => (iso && Number.isFinite(Date.parse(iso)) ? Date.parse(iso) : null);
    if (known.direction) {
      call.known = { direction: known.direction, src: known.src ?? null, dst: known.dst ?? null, user: known.user ?? null, startedAt: time(known.started_at), answeredAt: time(known.answered_at) };
    }
    if (known.transferred) call.transfer ??= { cdrs: [], sent: 0 };
  }

  /**
   * An adopted call whose first channel left while no adapter listened (a transfer) and that nothing
   * records any more: a recording the dial plan started on that channel stopped with it.
   * completeAdoption records the rest when given that recording and the PBX's recordings folder.
   */
  lostItsRecording(linkedid: string): boolean {
    const call = this.calls.get(linkedid);
    return !!call && !!call.pendingAdoption && !call.ended && this.recordsNothing(call);
  }

  /**
   * Emits `started` (and `answered` when already up) for a call adopted by a resync. A call whose
   * first channel left (lostItsRecording) keeps what the dial plan recorded there (`${UNIQUEID}.wav`
   * and the parts after it, `rest.left`); when it was recorded, the rest is recorded on the channel
   * in the call longest, in the PBX's `rest.folder` (its `${RECDIR}`), as after a transfer this
   * process saw (continueRecording): all stored as one when the call ends.
   */
  completeAdoption(linkedid: string, rest?: { folder: string; left: LeftRecording }): NormaliserOutput[] {
    const call = this.calls.get(linkedid);
    const out: NormaliserOutput[] = [];
    if (!call || !call.pendingAdoption) return out;
    call.pendingAdoption = false;
    const transferredUnseen = !call.ended && !call.transfer && this.employeeLeft(call);
    // Its CDRs are every channel's now (the first channel's may have gone with it), merged as a transfer's.
    if (transferredUnseen) call.transfer = { cdrs: [], sent: 0 };
    if (this.recordsNothing(call)) {
      const first = { file: `${call.linkedid}.wav`, startedAt: firstSeenAt(call), channel: '' };
      call.recordingParts = { first, next: [...(rest?.left.continuation ?? [])], adopted: true };
      if (rest && !call.ended) this.recordRest(call, rest.folder, out);
    }
    if (!call.ended) {
      this.ensureStarted(call, out);
      this.maybeAnswered(call, out);
      if (transferredUnseen) this.tellUnseenTransfer(call, out);
    }
    return out;
  }

  /**
   * The employee's phone left an adopted call that goes on: its first channel is gone (a click-to-call
   * starts on the employee's phone), or — the caller's channel first, an inbound call — the phone of
   * the user calls-service says took it is gone while another user's phone is in the call.
   */
  private employeeLeft(call: Call): boolean {
    if (!call.channels.has(call.linkedid)) return true;
    const user = call.known?.user;
    if (!user) return false;
    const users = liveChannels(call).map((c) => this.pjsipUser(c.name));
    return !users.includes(user) && users.some((u) => u !== undefined);
  }

  /**
   * An adopted call the employee's phone left while a colleague's phone is in it was transferred while
   * no adapter listened: to that colleague (the newest user's channel), by the call's user, how
   * unknown — told now, dated when the colleague's channel began (a blind transfer dialled it then).
   */
  private tellUnseenTransfer(call: Call, out: NormaliserOutput[]): void {
    const [colleague] = liveChannels(call).filter((c) => this.pjsipUser(c.name)).sort((a, b) => b.createdAt - a.createdAt);
    if (!colleague || !call.transfer) return;
    call.transfer.target = colleague.name;
    const toUser = this.pjsipUser(colleague.name) ?? null;
    const to = (toUser && this.options.directory?.(toUser)?.num) || colleague.exten;
    this.emitTransferred(call, out, { kind: 'unseen', by_user: call.known?.user ?? call.user ?? null, to, to_user: toUser, discriminator: 'unseen' }, colleague.createdAt);
  }

  private recordsNothing(call: Call): boolean {
    return !call.channels.has(call.linkedid) && !call.recordingParts && ![...call.channels.values()].some((c) => c.recording);
  }

  private recordRest(call: Call, folder: string, out: NormaliserOutput[]): void {
    const [oldest] = liveChannels(call).sort((a, b) => a.createdAt - b.createdAt);
    if (!oldest || !call.recordingParts) return;
    const file = recordingPartName(call.linkedid, call.recordingParts.next.length + 2);
    call.recordingParts.next.push(file);
    oldest.recordingRequested = true;
    out.push({ kind: 'record-channel', channel: oldest.name, file: path.posix.join(folder, file) });
  }

  /**
   * Ends, `reconciled`, the calls held open elsewhere that this process does not know. Called after
   * a resync: a call still up on the PBX was adopted by it (or was seen live since), so one unknown
   * here ended while nobody listened — this process restarted meanwhile, or its end was lost — and
   * its hang-up and CDR are gone. A recording it left (`recordings`, by call id) still tells when it
   * ended — MixMonitor's last write is the hang-up — and is stored like any other (fixture 58);
   * without one, the call ends now.
   */
  endForgotten(open: readonly OpenCall[], recordings: ReadonlyMap<string, LeftRecording> = new Map()): NormaliserOutput[] {
    const out: NormaliserOutput[] = [];
    const now = this.now();
    for (const call of open) {
      if (this.knows(call)) continue;
      const left = recordings.get(call.call_id);
      const envelope = (kind: string, seq: number, at: number) => ({
        event_id: [this.options.node, call.linkedid ?? call.call_id, kind, 'forgotten'].join(':'),
        call_id: call.call_id,
        seq,
        node: this.options.node,
        occurred_at: new Date(at).toISOString(),
        account_id: call.account_id,
      });
      const endedAt = left && left.lastWriteMs <= now ? left.lastWriteMs : now;
      out.push({ kind: 'ended', payload: { ...envelope('ended', FORGOTTEN_SEQ, endedAt), cause: 0, cause_txt: 'Unknown', reconciled: true } });
      if (left) {
        out.push({
          kind: 'recording',
          job: {
            callKey: call.linkedid ?? call.call_id,
            envelope: { ...envelope('recording.finished', FORGOTTEN_SEQ + 1, endedAt), event_id: [this.options.node, call.linkedid, 'recording.finished', left.fileName].join(':') },
            user: null,
            fileName: left.fileName,
            ...(left.continuation?.length ? { continuation: left.continuation } : {}),
            channel: '',
            recordedAt: localDateTime(left.startedAtMs),
          },
        });
      }
    }
    return out;
  }

  /** Whether this process knows the call (by call id, originate intent or Linkedid): then it is not forgotten. */
  knows(call: OpenCall): boolean {
    return this.byCallId.has(call.call_id) || this.intentsByCall.has(call.call_id) || (call.linkedid !== null && this.calls.has(call.linkedid));
  }

  /** The next seq of a call, for an event produced outside `handle` (a stored recording); undefined once forgotten. */
  takeSeq(callKey: string): number | undefined {
    const call = this.calls.get(callKey);
    return call ? call.seq++ : undefined;
  }

  /**
   * Drops state of calls ended long enough ago, and old tombstones and intents. Returns the
   * records of calls whose voicemail CDR did not come within `heldCdrMs` of their end.
   */
  sweep(heldCdrMs = 10_000): NormaliserOutput[] {
    const now = this.now();
    const out: NormaliserOutput[] = [];
    this.flushHeldCdrs(now - heldCdrMs, out);
    for (const [key, call] of this.calls) {
      if (!call.ended || (call.endedAt ?? now) > now - this.retainMs) continue;
      this.calls.delete(key);
      if (call.callId && this.byCallId.get(call.callId) === key) this.byCallId.delete(call.callId);
      for (const uniqueid of call.channels.keys()) {
        this.byUniqueid.delete(uniqueid);
        this.tombstones.set(uniqueid, now);
      }
    }
    for (const [uniqueid, at] of this.tombstones) if (at < now - 10 * this.retainMs) this.tombstones.delete(uniqueid);
    for (const [actionId, intent] of this.intentsByAction) if (intent.at < now - 10 * this.retainMs) this.forgetIntent(actionId);
    return out;
  }

  // ---- queries -------------------------------------------------------------------------------

  /** Channels up right now, with the account they belong to (their context's, else their call's). */
  liveChannels(): Array<{
    name: string;
    accounts: number[];
    callerIdNum: string;
    callerIdName: string;
    connectedLineNum: string;
    connectedLineName: string;
    createdAt: number;
  }> {
    const out = [];
    for (const call of this.calls.values()) {
      if (call.ended) continue;
      for (const ch of call.channels.values()) {
        if (ch.hungUp) continue;
        const accounts = [this.accountFromContext(ch.context), call.account].filter((a): a is number => a !== null);
        out.push({
          name: ch.name,
          accounts: [...new Set(accounts)],
          callerIdNum: ch.callerIdNum,
          callerIdName: ch.callerIdName,
          connectedLineNum: ch.connectedLineNum,
          connectedLineName: ch.connectedLineName,
          createdAt: ch.createdAt,
        });
      }
    }
    return out;
  }

  /** Number of calls held in memory (tests, metrics). */
  get size(): number {
    return this.calls.size;
  }

  // ---- AMI events ----------------------------------------------------------------------------

  handle(message: AmiMessage): NormaliserOutput[] {
    const name = eventName(message);
    const out: NormaliserOutput[] = [];
    switch (name) {
      case '':
      case 'cel':
        return out;
      case 'coreshowchannel':
        if (this.resync && field(message, 'actionid') === this.resync.actionId) this.resync.items.push(message);
        return out;
      case 'coreshowchannelscomplete':
        if (this.resync && field(message, 'actionid') === this.resync.actionId) this.completeResync(out);
        return out;
      case 'cdr':
        this.onCdr(message, out);
        return out;
      case 'originateresponse':
        this.onOriginateResponse(message, out);
        return out;
      case 'blindtransfer':
      case 'attendedtransfer':
        this.onTransfer(name, message, out);
        return out;
    }

    const touched: Channel[] = [];
    if (DIAL_EVENTS.has(name) || name.startsWith('agent')) {
      const dest = this.touch(message, 'dest');
      if (dest) touched.push(dest);
    }
    const own = this.touch(message, '');
    if (own) touched.push(own);
    if (touched.length === 0) return out;

    for (const ch of touched) {
      const call = this.calls.get(ch.linkedid);
      if (!call) continue;
      const setup = SETUP_EVENTS.has(name) || (name === 'newexten' && /^AppDial/i.test(field(message, 'application')));
      if (ch === own) this.apply(name, message, ch, call, out);
      if (!setup && !call.pendingAdoption) this.ensureStarted(call, out);
      if (call.started && ch !== own && name === 'dialbegin') this.ringing(message, ch, call, out);
      if (call.started && ch === own) this.afterEvent(name, message, ch, call, out);
      if (call.started) this.maybeAnswered(call, out);
      if (call.started && ch === own && (name === 'hangup' || name === 'mixmonitorstop')) this.finishRecording(ch, call, out);
      if (call.started) this.maybeEnded(call, out, false);
    }
    return out;
  }

  /** State changes that need no emitted event (variables, account hints, dialled party). */
  private apply(name: string, message: AmiMessage, ch: Channel, call: Call, out: NormaliserOutput[]): void {
    switch (name) {
      case 'varset': {
        const v = varSet(message);
        if (!v) return;
        if (v.name === 'MIXMONITOR_FILENAME') ch.mixMonitorPath = v.value;
        else this.applyCallVar(call, v.name, v.value);
        return;
      }
      case 'newexten': {
        const application = field(message, 'application').toLowerCase();
        if (application === 'voicemail') ch.voicemail = true;
        if (application === 'dial') this.noteDialPlanDial(call, field(message, 'appdata'), field(message, 'exten'));
        // `Set(CDR(userfield)=acct-1001)` in the dial plan names the account before the CDR does.
        const data = field(message, 'appdata');
        const m = /^CDR\(userfield\)=(.*)$/i.exec(data);
        if (field(message, 'application').toLowerCase() === 'set' && m) call.account ??= this.accountFromContext(m[1].trim());
        return;
      }
      case 'dialbegin':
      case 'agentcalled': {
        const dest = field(message, 'destchannel');
        if (!field(message, 'channel') || !dest) return; // the originate's own dial of leg A
        const user = this.noteDialledChannel(call, dest);
        // After a blind transfer the dial plan dials where the phone sent the call.
        if (call.transfer) call.transfer.target = dest;
        const blind = call.transfer?.pendingBlind;
        if (blind) {
          call.transfer!.pendingBlind = undefined;
          this.emitTransferred(call, out, { kind: 'blind', by_user: blind.byUser, to: blind.to, to_user: user ?? null, discriminator: blind.transferer });
        }
        return;
      }
      case 'hangup':
        ch.hungUp = true;
        ch.cause = Number.parseInt(field(message, 'cause'), 10) || 0;
        ch.causeTxt = field(message, 'cause-txt');
        call.hangupOrder.push(ch.uniqueid);
        return;
      case 'mixmonitorstart':
        ch.recording ??= { file: ch.mixMonitorPath ? path.posix.basename(ch.mixMonitorPath) : `${ch.uniqueid}.wav`, startedAt: this.now(), done: false };
        return;
    }
  }

  /** Events emitted for a started call. */
  private afterEvent(name: string, message: AmiMessage, ch: Channel, call: Call, out: NormaliserOutput[]): void {
    if (name === 'bridgeenter' || name === 'bridgeleave') {
      const bridgeId = field(message, 'bridgeuniqueid');
      if (!bridgeId) return;
      const members = call.bridges.get(bridgeId) ?? new Set<string>();
      call.bridges.set(bridgeId, members);
      if (name === 'bridgeleave') {
        members.delete(ch.uniqueid);
        return;
      }
      members.add(ch.uniqueid);
      if (members.size >= 2 && !call.bridgedEmitted.has(bridgeId)) {
        call.bridgedEmitted.add(bridgeId);
        out.push({ kind: 'bridged', payload: { ...this.envelope(call, 'bridged', bridgeId), bridge_id: bridgeId } });
      }
    }
  }

  private applyCallVar(call: Call, name: string, value: string): void {
    call.vars[name] = value;
    if (name === 'DIALSTATUS') call.dialStatus = value;
    else if (name === 'RC_CALL_ID' && !call.started && !call.callId && value) {
      call.callId = value;
      this.byCallId.set(value, call.key);
      call.intent ??= this.intentsByCall.get(value);
    } else if (name === 'RC_ACCOUNT' && /^[1-9][0-9]{0,9}$/.test(value)) {
      call.account ??= Number(value);
    } else if (name === 'RC_USER' && value) {
      call.user ??= value;
    }
  }

  /** Creates or refreshes the channel an event describes (`prefix` 'dest' for a dial's callee). */
  private touch(message: AmiMessage, prefix: '' | 'dest'): Channel | undefined {
    const get = (key: string) => field(message, prefix + key);
    const uniqueid = get('uniqueid');
    const linkedid = get('linkedid');
    if (!uniqueid || !linkedid || uniqueid === '<unknown>') return undefined;
    let ch = this.channel(uniqueid);
    if (!ch) {
      if (this.tombstones.has(uniqueid)) return undefined;
      ch = this.addChannel(uniqueid, linkedid, this.now());
    }
    const name = get('channel');
    if (name) ch.name = name;
    const newName = prefix === '' && eventName(message) === 'rename' ? field(message, 'newname') : '';
    if (newName) ch.name = newName;
    for (const [key, prop] of [
      ['context', 'context'],
      ['exten', 'exten'],
      ['channelstatedesc', 'state'],
      ['calleridnum', 'callerIdNum'],
      ['calleridname', 'callerIdName'],
      ['connectedlinenum', 'connectedLineNum'],
      ['connectedlinename', 'connectedLineName'],
    ] as const) {
      if ((prefix + key).toLowerCase() in message) ch[prop] = get(key);
    }
    return ch;
  }

  private channel(uniqueid: string): Channel | undefined {
    const key = this.byUniqueid.get(uniqueid);
    return key ? this.calls.get(key)?.channels.get(uniqueid) : undefined;
  }

  private addChannel(uniqueid: string, linkedid: string, createdAt: number, adopted = false): Channel {
    let call = this.calls.get(linkedid);
    if (!call) {
      call = {
        key: linkedid,
        linkedid,
        seq: adopted ? ADOPTED_SEQ_BASE : 0,
        started: false,
        answered: false,
        ended: false,
        cdrDone: false,
        pendingAdoption: adopted,
        src: '',
        dst: '',
        user: null,
        account: null,
        vars: {},
        channels: new Map(),
        hangupOrder: [],
        bridges: new Map(),
        bridgedEmitted: new Set(),
      };
      this.calls.set(linkedid, call);
    }
    const ch: Channel = {
      uniqueid,
      linkedid,
      name: '',
      context: '',
      exten: '',
      state: '',
      callerIdNum: '',
      callerIdName: '',
      connectedLineNum: '',
      connectedLineName: '',
      createdAt,
      generation: this.generation,
      hungUp: false,
      cause: 0,
      causeTxt: '',
    };
    call.channels.set(uniqueid, ch);
    this.byUniqueid.set(uniqueid, call.key);
    if (uniqueid === linkedid || !call.primary) call.primary = uniqueid;
    return ch;
  }

  // ---- emitted events ------------------------------------------------------------------------

  private envelope(call: Call, kind: TelephonyEventKind, discriminator?: string, reserve = true, at = this.now()): Envelope {
    const callId = call.callId ?? `${this.options.node}:${call.linkedid}`;
    if (!call.callId) {
      call.callId = callId;
      this.byCallId.set(callId, call.key);
    }
    return {
      event_id: [this.options.node, call.key, kind, ...(discriminator ? [discriminator] : [])].join(':'),
      call_id: callId,
      seq: reserve ? call.seq++ : call.seq,
      node: this.options.node,
      occurred_at: new Date(at).toISOString(),
      account_id: call.account,
    };
  }

  private primary(call: Call): Channel | undefined {
    return call.primary ? call.channels.get(call.primary) : undefined;
  }

  /** The user (and extension) of a channel the call dialled: a user's phone, or a Local channel to an extension. */
  private noteDialledChannel(call: Call, channel: string): string | undefined {
    const user = this.pjsipUser(channel);
    this.noteDialled(call, user, user ? this.options.directory?.(user)?.num : LOCAL_EXTEN.exec(channel)?.[1]);
    return user;
  }

  /** The user (and extension) a call dialled: an incoming call is filed under them. */
  private noteDialled(call: Call, user: string | undefined, ext: string | undefined): void {
    if (user) call.dialledUser ??= user;
    if (ext) call.dialledExt ??= ext;
    if (call.direction === 'incoming') {
      if (call.dialledExt && (!call.dst || call.dst === call.linkedExten)) call.dst = call.dialledExt;
      call.user ??= call.dialledUser ?? null;
    }
  }

  /**
   * A dial plan's `Dial(PJSIP/<user>,…)` names the user before DialBegin does — and alone when the
   * phone is not registered: no channel, no DialBegin, DIALSTATUS CHANUNAVAIL, and the call goes on
   * to the user's mailbox (fixture 46). Outside numbers (`PJSIP/<num>@trunk`) are not users.
   */
  private noteDialPlanDial(call: Call, appData: string, exten: string): void {
    const device = appData.split(',')[0].split('&')[0].trim();
    const endpoint = /^PJSIP\/([^/@]+)$/.exec(device)?.[1];
    const user = endpoint ? this.userOfEndpoint(endpoint) : undefined;
    this.noteRoute(call, user ? 'internal' : /^PJSIP\/[^/@]+@[^/@]+$/.test(device) ? 'outgoing' : undefined);
    if (!user) return;
    this.noteDialled(call, user, this.options.directory?.(user)?.num ?? (EXTENSION_PATTERN.test(exten) ? exten : undefined));
  }

  /** The first Dial() of a call an employee placed tells where it went (a later one follows a failed Dial). */
  private noteRoute(call: Call, route: Call['routed']): void {
    if (!route || call.routed || call.direction === 'incoming') return;
    call.routed = route;
    if (call.direction) call.direction = route;
  }

  /**
   * The direction of a call an employee placed: where the dial plan sent it; before it dialled,
   * whether the number is a colleague's extension (the dial plan rings those and sends anything
   * else out), else what the number looks like.
   */
  private placedDirection(call: Call): Direction {
    if (call.routed) return call.routed;
    const colleague = call.account !== null ? this.options.isExtension?.(call.account, call.dst) : undefined;
    if (colleague !== undefined) return colleague ? 'internal' : 'outgoing';
    return dialledDirection(call.dst);
  }

  /** A channel of the originating employee's own phone (a PJSIP channel of theirs, or a Local one to their extension). */
  private isOwnPhone(call: Call, channel: string): boolean {
    const user = this.pjsipUser(channel);
    if (user) return user === call.user;
    const ext = LOCAL_EXTEN.exec(channel)?.[1];
    return ext !== undefined && ext === call.src;
  }

  /** The user of a `PJSIP/<endpoint>-<seq>` channel: a user name, or an endpoint the directory knows (not the trunk). */
  private pjsipUser(channel: string): string | undefined {
    const endpoint = PJSIP_CHANNEL.exec(channel)?.[1];
    return endpoint ? this.userOfEndpoint(endpoint) : undefined;
  }

  private userOfEndpoint(endpoint: string): string | undefined {
    return USER_NAME.test(endpoint) || this.options.directory?.(endpoint) ? endpoint : undefined;
  }

  /** Direction and parties, from what the request said (intent, RC_*) or else from the channels. */
  private describe(call: Call): void {
    if (call.known) {
      call.direction = call.known.direction;
      call.src = call.known.src ?? '';
      call.dst = call.known.dst ?? '';
      call.user ??= call.known.user;
      return;
    }
    const primary = this.primary(call);
    const intent = call.intent;
    const known = (v: string | undefined) => (v && !isUnknown(v) ? v : '');
    const pjsipUser = primary ? this.pjsipUser(primary.name) : undefined;
    const primaryAccount = primary ? this.accountFromContext(primary.context) : null;
    if (intent || call.vars.RC_CALL_ID) {
      call.originated = true;
      call.account ??= intent?.accountId ?? primaryAccount;
      call.user ??= intent?.user ?? pjsipUser ?? null;
      call.src = intent?.src ?? (known(primary?.callerIdNum) || call.user || '');
      // An originated channel sits at exten `s` until OriginateResponse names the dialled number (or the CDR does).
      call.dst = intent?.num ?? call.originateExten ?? (primaryAccount !== null && primary?.exten !== 's' ? known(primary?.exten) : '');
      call.direction = this.placedDirection(call);
    } else if (primaryAccount !== null && pjsipUser) {
      // A phone in the account's context dialled: another extension (internal) or out.
      call.account ??= primaryAccount;
      call.user ??= pjsipUser;
      call.src = known(primary?.callerIdNum) || this.options.directory?.(pjsipUser)?.num || pjsipUser;
      call.dst = known(primary?.exten);
      call.direction = this.placedDirection(call);
    } else {
      call.direction = 'incoming';
      call.account ??= primaryAccount;
      call.src = known(primary?.callerIdNum);
      call.linkedExten = known(primary?.exten);
      call.dst = call.dialledExt ?? call.linkedExten;
      call.user ??= call.dialledUser ?? null;
    }
  }

  private ensureStarted(call: Call, out: NormaliserOutput[]): void {
    if (call.started) return;
    call.started = true;
    this.describe(call);
    out.push({
      kind: 'started',
      payload: {
        ...this.envelope(call, 'started'),
        direction: call.direction!,
        src: call.src,
        dst: call.dst,
        user: call.user,
        linkedid: call.linkedid.startsWith('action:') ? '' : call.linkedid,
      },
    });
  }

  /**
   * A Dial() (or an originate) began ringing `dest`: the employee's phone (`user`) or the outside
   * number (`customer`). An originate dials its first leg without a `Channel`: for a call the API
   * started that is the employee; for anything else (a simulated caller) it is nobody's ringing.
   * What an originated call dials next is the number the API was given — a colleague's phone too
   * (an originate to an extension): the `customer` of that call.
   */
  private ringing(message: AmiMessage, dest: Channel, call: Call, out: NormaliserOutput[]): void {
    if (call.ended) return;
    let party: RingingParty | undefined;
    if (!field(message, 'channel')) party = call.originated ? 'user' : undefined;
    else if (call.originated) party = this.isOwnPhone(call, dest.name) ? 'user' : 'customer';
    else party = this.pjsipUser(dest.name) || LOCAL_EXTEN.test(dest.name) ? 'user' : 'customer';
    if (!party) return;
    call.rungParties ??= new Set();
    if (call.rungParties.has(party)) return;
    call.rungParties.add(party);
    // Whose phone: the originating employee's (an originate's first leg), or the user of the channel dialled.
    const user = party === 'user' ? (this.pjsipUser(dest.name) ?? (field(message, 'channel') ? null : call.user)) : null;
    // An incoming call's number becomes the extension that rings (as its record will say).
    if (party === 'user' && call.direction === 'incoming') this.noteDialledChannel(call, dest.name);
    const dst = call.dst ? { dst: call.dst } : {};
    out.push({ kind: 'ringing', payload: { ...this.envelope(call, 'ringing', party), party, channel: dest.name, direction: call.direction, user, ...dst } });
  }

  private maybeAnswered(call: Call, out: NormaliserOutput[]): void {
    if (call.answered || call.ended) return;
    const primary = this.primary(call);
    if (!primary || primary.hungUp || primary.state !== 'Up') return;
    call.answered = true;
    // Outgoing calls learn their account once leg A enters the account's context.
    call.account ??= this.accountFromContext(primary.context);
    out.push({ kind: 'answered', payload: { ...this.envelope(call, 'answered'), channel: primary.name } });
  }

  private maybeEnded(call: Call, out: NormaliserOutput[], reconciled: boolean): void {
    if (call.ended || call.channels.size === 0) return;
    for (const ch of call.channels.values()) if (!ch.hungUp) return;
    call.ended = true;
    call.endedAt = this.now();
    const { cause, causeTxt } = this.causeOf(call);
    out.push({ kind: 'ended', payload: { ...this.envelope(call, 'ended'), cause, cause_txt: causeTxt, reconciled } });
    this.finishRecordingParts(call, out);
    this.maybeTransferredCdr(call, out);
  }

  /** The first channel's cause when it has one, else the first real cause among the others. */
  private causeOf(call: Call): { cause: number; causeTxt: string } {
    const primary = this.primary(call);
    if (primary && primary.cause > 0) return { cause: primary.cause, causeTxt: primary.causeTxt };
    for (const uniqueid of call.hangupOrder) {
      const ch = call.channels.get(uniqueid);
      if (ch && ch.cause > 0) return { cause: ch.cause, causeTxt: ch.causeTxt };
    }
    return { cause: 0, causeTxt: primary?.causeTxt || 'Unknown' };
  }

  private finishRecording(ch: Channel, call: Call, out: NormaliserOutput[]): void {
    const rec = ch.recording;
    if (!rec || rec.done) return;
    rec.done = true;
    // A part of a recording in several files: stored as one when the call ended (maybeEnded).
    if (call.recordingParts && (call.recordingParts.first.file === rec.file || call.recordingParts.next.includes(rec.file))) return;
    this.emitRecording(call, ch.name, rec, [], out);
  }

  /** The recording of a call whose recorded channel a transfer took away, in all its parts. */
  private finishRecordingParts(call: Call, out: NormaliserOutput[]): void {
    const parts = call.recordingParts;
    if (!parts) return;
    call.recordingParts = undefined;
    // Only the parts whose MixMonitor really started (a refused action left no file); an adopted
    // call's earlier parts were not seen, and a missing one is left out when stored.
    const started = new Set([...call.channels.values()].map((c) => c.recording?.file));
    this.emitRecording(call, parts.first.channel, parts.first, parts.adopted ? parts.next : parts.next.filter((f) => started.has(f)), out);
  }

  private emitRecording(call: Call, channel: string, rec: { file: string; startedAt: number }, continuation: string[], out: NormaliserOutput[]): void {
    out.push({
      kind: 'recording',
      job: {
        callKey: call.key,
        envelope: this.envelope(call, 'recording.finished', rec.file, false),
        user: call.user ?? call.dialledUser ?? null,
        fileName: rec.file,
        ...(continuation.length ? { continuation } : {}),
        channel,
        recordedAt: localDateTime(rec.startedAt),
      },
    });
  }

  /**
   * The call's record is the first CDR of its first channel (Local channel halves, the dialled
   * legs and later CDR forks describe parts of the same call), with one exception: a Dial that
   * ended in VoiceMail(). Its CDR ends with the Dial, while the caller stays on to leave a message;
   * the fork's CDR (LastApplication VoiceMail, ANSWERED by the mailbox) comes after the caller hung
   * up (fixtures 40, 41, 43). The first CDR is held until then, and the call's record keeps its
   * disposition but ends when the caller hung up: `duration` (ringing + talk, v1) covers both.
   */
  private onCdr(message: AmiMessage, out: NormaliserOutput[]): void {
    const uniqueid = field(message, 'uniqueid');
    const key = this.byUniqueid.get(uniqueid);
    const call = key ? this.calls.get(key) : undefined;
    if (!call) return;
    if (call.transfer) {
      call.transfer.cdrs.push(message);
      this.maybeTransferredCdr(call, out);
      return;
    }
    if (uniqueid !== call.linkedid && uniqueid !== call.primary) return;
    if (call.heldCdr) {
      const held = call.heldCdr;
      call.heldCdr = undefined;
      this.emitCdr(call, held, out, message);
      return;
    }
    if (call.cdrDone) return;
    call.cdrDone = true;
    const channel = call.channels.get(uniqueid);
    // Only a Dial that created the callee's channel is followed by the mailbox's own CDR; without
    // one (the phone not registered) this one CDR covers the whole call (fixture 46).
    if (channel?.voicemail && field(message, 'lastapplication').toLowerCase() !== 'voicemail' && field(message, 'destinationchannel')) {
      call.heldCdr = message;
      return;
    }
    this.emitCdr(call, message, out);
  }

  /**
   * Held CDRs whose voicemail CDR never came (lost with the AMI connection): sent as they are; and
   * the record of a transferred call whose last part's CDR never came, from the CDRs it has.
   */
  private flushHeldCdrs(olderThan: number, out: NormaliserOutput[]): void {
    for (const call of this.calls.values()) {
      if (call.transfer && call.transfer.sent === 0 && call.ended && (call.endedAt ?? 0) <= olderThan) this.maybeTransferredCdr(call, out, true);
      if (call.heldCdr && call.ended && (call.endedAt ?? 0) <= olderThan) {
        const held = call.heldCdr;
        call.heldCdr = undefined;
        this.emitCdr(call, held, out);
      }
    }
  }

  private emitCdr(call: Call, message: AmiMessage, out: NormaliserOutput[], voicemail?: AmiMessage): void {
    const seconds = (m: AmiMessage | undefined, name: string) => (m ? Math.max(0, Number.parseInt(field(m, name), 10) || 0) : 0);
    this.emitRecord(call, [message], out, {
      start: field(message, 'starttime'),
      answer: field(message, 'answertime'),
      end: (voicemail && field(voicemail, 'endtime')) || field(message, 'endtime'),
      // Each CDR's Duration is its own span floored: their sum is the closer total (40: 30 + 20 for 50.3 s).
      duration: seconds(message, 'duration') + seconds(voicemail, 'duration'),
      billsec: seconds(message, 'billableseconds'),
      disposition: dispositionOf(field(message, 'disposition'), call.dialStatus, field(message, 'destinationchannel')),
      uniqueid: field(message, 'uniqueid'),
    });
  }

  private emitTransferred(
    call: Call,
    out: NormaliserOutput[],
    t: { kind: TransferKind; by_user: string | null; to: string; to_user: string | null; discriminator: string },
    at?: number,
  ): void {
    const { discriminator, ...payload } = t;
    out.push({ kind: 'transferred', payload: { ...this.envelope(call, 'transferred', discriminator, true, at), ...payload } });
  }

  /** Sends a transferred call's record once it ended and the CDR of its last part came (or widens a sent one). */
  private maybeTransferredCdr(call: Call, out: NormaliserOutput[], force = false): void {
    const transfer = call.transfer;
    if (!transfer || !call.ended || transfer.cdrs.length === 0) return;
    const target = transfer.target;
    const last = target === undefined || transfer.cdrs.some((m) => field(m, 'destinationchannel') === target || field(m, 'channel') === target);
    if (last || transfer.sent > 0 || force) this.emitTransferredCdr(call, transfer, out);
  }

  /**
   * The record of a transferred call: from the first CDR's start to the last one's end, answered
   * when any part was (fixtures 59–62). Each CDR describes one part — the employee's, then the
   * colleague's from the transfer on (its Start is the fork, its Destination and UserField may be
   * the first part's or empty) — so the times come from the CDRs and the parties from the call.
   * A CDR that comes after the record was sent sends a wider one (calls-service keeps the widest).
   */
  private emitTransferredCdr(call: Call, transfer: Transfer, out: NormaliserOutput[]): void {
    const cdrs = transfer.cdrs;
    const times = (name: string) => cdrs.map((m) => field(m, name)).filter((t) => t !== '').sort();
    const start = times('starttime')[0] ?? '';
    const answer = times('answertime')[0] ?? '';
    const end = times('endtime').at(-1) ?? '';
    const first = cdrs.find((m) => field(m, 'starttime') === start) ?? cdrs[0];
    const answered = cdrs.find((m) => field(m, 'disposition').toUpperCase() === 'ANSWERED');
    const span = (from: string) => (from && end ? secondsBetween(from, end) : 0);
    this.emitRecord(
      call,
      cdrs,
      out,
      {
        start,
        answer,
        end,
        duration: span(start),
        billsec: answer ? span(answer) : 0,
        disposition: answered ? 'ANSWERED' : dispositionOf(field(first, 'disposition'), call.dialStatus, field(first, 'destinationchannel')),
        uniqueid: field(first, 'uniqueid'),
      },
      transfer.sent ? String(transfer.sent) : undefined,
    );
    transfer.sent++;
    call.cdrDone = true;
  }

  private emitRecord(call: Call, cdrs: AmiMessage[], out: NormaliserOutput[], cdrRecord: CdrRecord, discriminator?: string): void {
    this.ensureStarted(call, out);
    const record = widenedToKnown(cdrRecord, call.known);
    for (const message of cdrs) {
      call.account ??=
        this.accountFromContext(field(message, 'userfield')) ??
        this.accountFromContext(field(message, 'destinationcontext')) ??
        (/^[1-9][0-9]{0,9}$/.test(field(message, 'accountcode')) ? Number(field(message, 'accountcode')) : null);
    }
    out.push({
      kind: 'cdr',
      payload: {
        ...this.envelope(call, 'cdr', discriminator),
        direction: call.direction!,
        src: call.src || field(cdrs[0], 'source'),
        dst: call.dst || field(cdrs[0], 'destination'),
        user: call.user ?? call.dialledUser ?? null,
        start_time: record.start || localDateTime(this.now()),
        answer_time: record.answer || null,
        end_time: record.end || localDateTime(this.now()),
        duration: record.duration,
        billsec: record.billsec,
        disposition: record.disposition,
        uniqueid: record.uniqueid,
      },
    });
  }

  /**
   * A phone transferred the call: it goes on with the colleague and stays one call until its last
   * channel hangs up (a blind transfer dials the colleague under the call's Linkedid). An attended
   * transfer joins the caller to the colleague of the phone's consultation call, whose channel then
   * belongs to this call although no event says so until it hangs up with this Linkedid (61, 62).
   */
  private onTransfer(name: string, message: AmiMessage, out: NormaliserOutput[]): void {
    if (field(message, 'result').toLowerCase() !== 'success') return;
    const transferee = this.channel(field(message, 'transfereeuniqueid'));
    const call = transferee ? this.calls.get(transferee.linkedid) : undefined;
    if (!transferee || !call || call.ended) return;
    call.transfer ??= { cdrs: [], sent: 0 };
    this.continueRecording(call, transferee, out);
    if (name !== 'attendedtransfer') {
      const transferer = field(message, 'transfererchannel');
      call.transfer.pendingBlind = { to: field(message, 'extension'), byUser: this.pjsipUser(transferer) ?? null, transferer: field(message, 'transfereruniqueid') };
      return;
    }
    const target = this.channel(field(message, 'transfertargetuniqueid'));
    if (!target) return;
    call.transfer.target = target.name;
    const toUser = this.pjsipUser(target.name) ?? null;
    this.emitTransferred(call, out, {
      kind: 'attended',
      by_user: this.pjsipUser(field(message, 'origtransfererchannel')) ?? null,
      to: (toUser && this.options.directory?.(toUser)?.num) || field(message, 'secondtransfererexten'),
      to_user: toUser,
      discriminator: field(message, 'origtransfereruniqueid'),
    });
    if (target.linkedid === call.key) return;
    const consultation = this.calls.get(target.linkedid);
    consultation?.channels.delete(target.uniqueid);
    target.linkedid = call.key;
    call.channels.set(target.uniqueid, target);
    this.byUniqueid.set(target.uniqueid, call.key);
    if (consultation?.started) this.maybeEnded(consultation, out, false);
  }

  /**
   * The dial plan records a call an employee placed on the employee's channel, which leaves the call
   * when they transfer it: the rest is recorded on the channel that stays (the customer's), into a
   * file of its own, and the parts are stored as one. A channel already recorded (an inbound
   * caller, whose route records it) needs nothing.
   */
  private continueRecording(call: Call, transferee: Channel, out: NormaliserOutput[]): void {
    if (transferee.hungUp || transferee.recording || transferee.recordingRequested) return;
    const recorded = [...call.channels.values()].find((c) => c !== transferee && c.recording && !c.recording.done && c.mixMonitorPath);
    if (!recorded?.recording || !recorded.mixMonitorPath) return;
    if (call.recordingParts && call.recordingParts.first.file !== recorded.recording.file) return;
    call.recordingParts ??= { first: { file: recorded.recording.file, startedAt: recorded.recording.startedAt, channel: recorded.name }, next: [] };
    const base = recorded.recording.file.replace(/\.wav$/i, '');
    const file = recordingPartName(base, call.recordingParts.next.length + 2);
    call.recordingParts.next.push(file);
    transferee.recordingRequested = true;
    out.push({ kind: 'record-channel', channel: transferee.name, file: path.posix.join(path.posix.dirname(recorded.mixMonitorPath), file) });
  }

  private onOriginateResponse(message: AmiMessage, out: NormaliserOutput[]): void {
    const actionId = field(message, 'actionid');
    const response = field(message, 'response');
    const reasonText = field(message, 'reason');
    const reason = /^\d+$/.test(reasonText) ? Number(reasonText) : null;
    const uniqueid = field(message, 'uniqueid');
    const known = this.byUniqueid.get(uniqueid);
    const call = known ? this.calls.get(known) : undefined;
    if (call) {
      call.originateExten ??= field(message, 'exten') || undefined;
      if (call.started && call.originated && !call.dst && call.originateExten) {
        call.dst = call.originateExten;
        call.direction = this.placedDirection(call);
      }
      call.account ??= this.accountFromContext(field(message, 'context'));
    }
    out.push({ kind: 'originate-result', actionId, response, reason });
    if (response.toLowerCase() === 'success') return;

    const intent = this.intentsByAction.get(actionId);
    if (!intent || this.byCallId.has(intent.callId)) return; // the call's own channels tell the story
    // No channel was ever created (unknown or unregistered device): the call still happened for
    // the API, so it gets its whole life at once.
    const failure = ORIGINATE_FAILURES[reason ?? 0] ?? ORIGINATE_FAILURES[0];
    const pseudo: Call = {
      key: `action:${actionId}`,
      linkedid: `action:${actionId}`,
      callId: intent.callId,
      seq: 0,
      started: false,
      answered: false,
      ended: false,
      cdrDone: true,
      pendingAdoption: false,
      src: '',
      dst: '',
      user: null,
      account: null,
      vars: {},
      intent,
      channels: new Map(),
      hangupOrder: [],
      bridges: new Map(),
      bridgedEmitted: new Set(),
    };
    this.calls.set(pseudo.key, pseudo);
    this.byCallId.set(intent.callId, pseudo.key);
    this.ensureStarted(pseudo, out);
    pseudo.ended = true;
    pseudo.endedAt = this.now();
    out.push({ kind: 'ended', payload: { ...this.envelope(pseudo, 'ended'), cause: failure.cause, cause_txt: failure.causeTxt, reconciled: false } });
    const at = localDateTime(intent.at);
    out.push({
      kind: 'cdr',
      payload: {
        ...this.envelope(pseudo, 'cdr'),
        direction: pseudo.direction!,
        src: pseudo.src,
        dst: pseudo.dst,
        user: pseudo.user,
        start_time: at,
        answer_time: null,
        end_time: localDateTime(this.now()),
        duration: Math.max(0, Math.round((this.now() - intent.at) / 1000)),
        billsec: 0,
        disposition: failure.disposition,
        uniqueid: '',
      },
    });
  }

  // ---- resync --------------------------------------------------------------------------------

  private completeResync(out: NormaliserOutput[]): void {
    const resync = this.resync!;
    this.resync = undefined;
    const live = new Map(resync.items.map((item) => [field(item, 'uniqueid'), item]));

    // Channels known before the resync began and absent from the snapshot hung up while we were away.
    for (const call of this.calls.values()) {
      if (call.ended) continue;
      let changed = false;
      for (const ch of call.channels.values()) {
        if (ch.hungUp || ch.generation >= resync.generation || live.has(ch.uniqueid)) continue;
        ch.hungUp = true;
        changed = true;
        if (call.started) this.finishRecording(ch, call, out);
      }
      if (!changed) continue;
      if (!call.started && !call.pendingAdoption) this.ensureStarted(call, out);
      this.maybeEnded(call, out, true);
    }

    // Channels live now that this process never saw: adopt their calls.
    const adopted = new Map<string, AdoptedCall>();
    const now = this.now();
    for (const [uniqueid, item] of live) {
      const linkedid = field(item, 'linkedid');
      if (!uniqueid || !linkedid) continue;
      const existing = this.channel(uniqueid);
      if (existing) {
        this.refresh(existing, item);
        continue;
      }
      if (this.tombstones.has(uniqueid)) continue;
      const isNewCall = !this.calls.has(linkedid);
      const ch = this.addChannel(uniqueid, linkedid, now - durationMs(field(item, 'duration')), isNewCall);
      this.refresh(ch, item);
      if (isNewCall || adopted.has(linkedid)) adopted.set(linkedid, { linkedid, channel: '', channels: [] });
    }
    for (const entry of adopted.values()) {
      const call = this.calls.get(entry.linkedid)!;
      entry.channel = this.primary(call)?.name ?? '';
      entry.channels = liveChannels(call).map((c) => c.name);
    }
    out.push({ kind: 'resynced', adopted: [...adopted.values()] });
  }

  private refresh(ch: Channel, item: AmiMessage): void {
    ch.name = field(item, 'channel') || ch.name;
    ch.context = field(item, 'context');
    ch.exten = field(item, 'exten');
    ch.state = field(item, 'channelstatedesc');
    ch.callerIdNum = field(item, 'calleridnum');
    ch.callerIdName = field(item, 'calleridname');
    ch.connectedLineNum = field(item, 'connectedlinenum');
    ch.connectedLineName = field(item, 'connectedlinename');
  }
}

/** CoreShowChannel `Duration: HH:MM:SS` → ms. */
function durationMs(duration: string): number {
  const m = /^(\d+):(\d{2}):(\d{2})$/.exec(duration);
  return m ? ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 : 0;
}

/**
 * An adopted call's record begins when calls-service saw it begin: the CDRs of the part before this
 * process started (a transferred call's first part, held until the call ended) went with the process
 * before it, and the ones left begin at the transfer. CDR times are the PBX's local time, as
 * localDateTime writes them.
 */
function widenedToKnown(record: CdrRecord, known: Call['known']): CdrRecord {
  const out = { ...record };
  const start = known?.startedAt != null ? localDateTime(known.startedAt) : '';
  if (start && out.start && start < out.start) {
    out.duration += secondsBetween(start, out.start);
    out.start = start;
  }
  const answer = known?.answeredAt != null ? localDateTime(known.answeredAt) : '';
  if (answer && out.answer && answer < out.answer) {
    out.billsec += secondsBetween(answer, out.answer);
    out.answer = answer;
  }
  return out;
}

/** Whole seconds from one CDR time (`YYYY-MM-DD HH:MM:SS`, the PBX's local time) to a later one; 0 if not later. */
function secondsBetween(from: string, to: string): number {
  const at = (time: string) => Date.parse(`${time.replace(' ', 'T')}Z`);
  return Math.max(0, Math.round((at(to) - at(from)) / 1000));
}

/** When this process first knew of the call: its oldest channel's start (a resync reads their durations). */
function firstSeenAt(call: Call): number {
  return Math.min(...[...call.channels.values()].map((c) => c.createdAt));
}

/** The call's channels not hung up. */
function liveChannels(call: Call): Channel[] {
  return [...call.channels.values()].filter((c) => !c.hungUp);
}
