import type { Header } from '../ami/protocol';
import type { ServerMessage } from './transcript';

/**
 * Compares what the simulator sent with what Asterisk sent in a recording.
 *
 * Sequence. Asterisk publishes from several threads: each channel's PBX thread, the CEL and CDR
 * engines, device state, the originate thread, the session thread. Within one burst of the
 * recording (messages less than `burstGapSec` apart) only messages of the same origin keep a
 * fixed order; across bursts everything is ordered. So message j must come after message i when
 * i is earlier in the recording and either they are in different bursts, or they share an
 * ordering key (same channel, same CEL/CDR channel, same device, same bridge, same session...).
 * Items of one list reply (CoreShowChannel, Status, DeviceStateChange with an ActionID,
 * ContactList) come from a hash container and are unordered among themselves. Any missing,
 * extra or reordered message fails.
 *
 * Two orders vary between runs of the same scenario on the real PBX and are therefore free
 * within a burst (NOTES.md of 30–38: fixtures 32 and 33 show both orders): an Originate's own
 * DialState/DialEnd of leg A (no `Channel`: published by the originate thread) and leg A's
 * Newstate (published by its channel driver). As the DialState RINGING snapshot is taken on the
 * other thread, it shows leg A either still Down or already Ringing (20 and 33: 0/Down, 32, 34
 * and 35: 5/Ringing): either is accepted there. The same race exists for a Dial() of a phone:
 * chan_pjsip sets the dialled channel Ringing on its own thread while app_dial, on the caller's,
 * reads the queued ringing and publishes DialState RINGING (47, 50, 51: the dialled phone's
 * Newstate first, DestChannelState 5/Ringing; 52, 53: DialState first, 0/Down); a DialState
 * RINGING and its DestChannel's Newstate are free within a burst and the snapshot may show either
 * state. Nothing else about them is relaxed. A transfer adds two races (59/60 against 63/64, the
 * same transfers recorded twice): within a burst, a channel's bridge variables (BRIDGEPEER,
 * BRIDGEPVTCALLID) set once more and cleared come in either order; BlindTransfer and the
 * transferer's BridgeLeave from the bridge it names come in either order (and BlindTransfer and the
 * transferee's Newexten and BridgeLeave from it: 64 before, 65 after), and so do the two
 * BridgeLeave of that bridge (each channel's own thread; their BridgeNumChannels, 2 for the first
 * to leave, is then not compared). At an attended transfer, the REFER's thread ends the
 * consultation channel (SoftHangupRequest, Cause 1) while that channel's own thread ends its Dial
 * (ANSWEREDTIME…DIALSTATUS, SoftHangupRequest 16): 61/62 show the first before the Dial's end, 66
 * after it; within a burst they come in either order.
 *
 * A client's reaction to an event (scenarios that declare one, CompareOptions `reactions`: 65/66,
 * the adapter's MixMonitor action on the customer's channel sent 1–4 ms after the transfer event)
 * races the PBX: Asterisk publishes the action's effects (MIXMONITOR_FILENAME, MixMonitorStart) from
 * the manager session's thread whenever the action arrives, while the transferee's own thread goes
 * on (65: its Dial's variables cleared 6 ms after the BlindTransfer, the action sent 4 ms after it,
 * its VarSet 7 ms after; the Dial's channel 9 ms after). Where they land among the channel's other
 * messages after the trigger, in the trigger's burst, depends on the client's reaction time, which
 * a recording cannot hold the simulator to; they must still come after the trigger (the replay
 * sends the action when it sees it) and keep their own order, and only the connected line their
 * channel snapshot shows (which the transferee's Dial changes) is not compared.
 *
 * Content. Both messages must have the same header names in the same order and the same values,
 * except: ids (Uniqueid/Linkedid, channel sequence numbers, bridge ids, session ids, and the SIP
 * Call-IDs phones chose, SIPp's `<n>-<pid>@<ip>` or the ninth lab's consultation calls'
 * `att61-<16 hex>@<ip>`, 61/62) may differ but must map one-to-one for the whole
 * transcript; times and durations are compared loosely or not at all (listed below with the
 * reason); measurements of the media and the network are compared by form: `RTPAUDIOQOS*`
 * variables must carry the same fields (any numbers), a measured `RoundtripUsec` must be a
 * measurement (N/A and 0 stay exact). Files are compared inside their configured folders: the
 * recording's name (`MIXMONITOR_FILENAME`, MixMonitor's argument) and the voicemail message's
 * `<context>/<mailbox>/INBOX/msgNNNN` (`VM_MESSAGEFILE`).
 *
 * Values a recording cannot hold the simulator to, named per scenario (`unverifiable`): fixture
 * 51's second Cdr carries bytes of freed memory as LastApplication and LastData (an Asterisk bug,
 * NOTES.md). Only the headers named for the messages picked are exempt; they must still be there,
 * in their place.
 *
 * Not compared at all: `RTCPSent` events (class reporting, second lab). They are res_rtp_asterisk's
 * media reports every 5 s while RTP flows: SSRCs, packet counts, NTP times and addresses of the
 * media streams, and their number depends on where the 5 s ticks fall. The simulator emits them
 * (so a client sees the class), but they say nothing about the call the comparison checks. Nor,
 * for the scenarios that declare it (CompareOptions `uncompared`: 65–67, the pjsua phones),
 * `RTCPReceived`: the RTCP reports the eleventh lab's pjsua phones and PSTN sent (SIPp sent none),
 * at the phones' own intervals and ports; the simulator has no phone media. Elsewhere it is
 * compared like any event (no earlier recording has one, so the simulator must send none).
 */

export interface CompareResult {
  ok: boolean;
  problems: string[];
}

/** Values that are clock readings or describe the simulated phone rather than the PBX. */
const IGNORED = new Set(
  [
    'EventTime',
    'EventTV',
    'SessionTV',
    'StartTime',
    'AnswerTime',
    'EndTime',
    'Timestamp',
    'Uptime',
    'LastReload',
    'LoginTime',
    'LastCall',
    'ExpirationTime',
    'RegExpire',
    'LocalAddress',
    'RemoteAddress',
    // The registered contact is the simulated phone's (user agent, address, Call-ID), not the PBX's.
    'UserAgent',
    'Uri',
    'URI',
    'CallId',
    'CallID',
    'ViaPort',
    'ViaAddress',
    'ViaAddr',
  ].map((h) => h.toLowerCase()),
);

/** Events left out of the comparison on both sides (see the module comment). */
const UNCOMPARED = new Set(['RTCPSent']);

/** Whether the comparison looks at this message at all. */
export const isCompared = (hs: readonly Header[], options: CompareOptions = {}) => {
  const event = get(hs as Header[], 'Event') ?? '';
  return !UNCOMPARED.has(event) && !(options.uncompared ?? []).includes(event);
};

/** Second counts measured by the PBX: equal within one second. */
const SECONDS = new Set(['Duration', 'BillableSeconds', 'Seconds', 'TalkTime', 'HoldTime', 'RingTime'].map((h) => h.toLowerCase()));

const ID_PATTERN =
  /([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})|(\b\d{9,11}\.\d+\b)|((?:Local|PJSIP)\/[^\s!,;]*?-)([0-9a-f]{8})(?=;[12]|$|[!,\s"]|\/)|(0x[0-9a-f]{6,})|(;@[0-9a-f]{32})|(^(?:\d+-\d+|att\d+-[0-9a-f]{16})@[\d.]+$)/g;

/** Kinds of ids; `callid`: a SIP Call-ID a phone chose (SIPp's `<n>-<pid>@<ip>`, `att61-<hex>@<ip>`), BRIDGEPVTCALLID of a call it placed. */
type Kind = 'uuid' | 'uid' | 'seq' | 'session' | 'contact' | 'callid';

/** One-to-one maps between the recording's ids and the simulator's, per kind of id. */
export class IdMap {
  private readonly fwd = new Map<string, string>();
  private readonly rev = new Map<string, string>();

  /** true when exp ↔ act is consistent with what is bound; `pending` collects new pairs. */
  check(kind: Kind, exp: string, act: string, pending: Map<string, string>): boolean {
    const e = `${kind}:${exp}`;
    const a = `${kind}:${act}`;
    const known = this.fwd.get(e) ?? pending.get(e);
    if (known !== undefined) return known === a;
    const back = this.rev.get(a) ?? [...pending].find(([, v]) => v === a)?.[0];
    if (back !== undefined) return back === e;
    pending.set(e, a);
    return true;
  }

  commit(pending: Map<string, string>): void {
    for (const [e, a] of pending) {
      this.fwd.set(e, a);
      this.rev.set(a, e);
    }
  }
}

/** Splits a value into literal text and ids, so ids are compared through the IdMap. */
function tokens(value: string): { text: string; ids: [Kind, string][] } {
  const ids: [Kind, string][] = [];
  const text = value.replace(ID_PATTERN, (_m, uuid, uid, chanPrefix, seq, session, contact, callid) => {
    if (uuid) ids.push(['uuid', uuid]);
    else if (uid) ids.push(['uid', uid]);
    else if (seq) {
      ids.push(['seq', `${chanPrefix.split('/')[0]}:${seq}`]);
      return `${chanPrefix}#`;
    } else if (session) ids.push(['session', session]);
    else if (contact) ids.push(['contact', contact]);
    else if (callid) ids.push(['callid', callid]);
    return '#';
  });
  return { text, ids };
}

function sameWithIds(exp: string, act: string, ids: IdMap, pending: Map<string, string>): boolean {
  const e = tokens(exp);
  const a = tokens(act);
  if (e.text !== a.text || e.ids.length !== a.ids.length) return false;
  return e.ids.every(([kind, v], i) => a.ids[i][0] === kind && ids.check(kind, v, a.ids[i][1], pending));
}

const basename = (p: string) => p.slice(p.lastIndexOf('/') + 1);
/** A voicemail message's path without the spool folder: `<context>/<mailbox>/INBOX/msgNNNN`. */
const spoolTail = (p: string) => p.split('/').slice(-4).join('/');
const asSeconds = (v: string) => (/^\d\d:\d\d:\d\d$/.test(v) ? v.split(':').reduce((s, x) => s * 60 + Number(x), 0) : Number(v));

function valueMatches(name: string, exp: string, act: string, headers: Header[], ids: IdMap, pending: Map<string, string>): string | undefined {
  const lower = name.toLowerCase();
  if (IGNORED.has(lower)) return undefined;
  if (SECONDS.has(lower)) return Math.abs(asSeconds(exp) - asSeconds(act)) <= 1 ? undefined : `${exp} vs ${act} (±1 s)`;
  // A measured OPTIONS round trip (µs): any measurement matches a measurement; N/A and 0 exactly.
  if (lower === 'roundtripusec' && /^[1-9]\d*$/.test(exp)) return /^[1-9]\d*$/.test(act) ? undefined : `${exp} vs ${act} (a round trip)`;
  const event = headers.find(([k]) => k === 'Event')?.[1];
  const variable = headers.find(([k]) => k === 'Variable')?.[1] ?? '';
  if (event === 'DialState' && (originateDialOf(headers) !== undefined || ringingDialOf(headers) !== undefined) && (lower === 'destchannelstate' || lower === 'destchannelstatedesc')) {
    const either = lower === 'destchannelstate' ? ['0', '5'] : ['Down', 'Ringing'];
    return either.includes(exp) && either.includes(act) ? undefined : `'${exp}' vs '${act}' (the dialled channel Down or Ringing)`;
  }
  if (event === 'VarSet' && lower === 'value') {
    // Dial()/Queue() timers: equal emptiness, seconds ±1, milliseconds ±400 (wall-clock jitter, scaled).
    if (/TIME(_MS)?$|^QUEUEWAIT(_MS)?$/.test(variable)) {
      if ((exp === '') !== (act === '')) return `${exp} vs ${act}`;
      const tolerance = variable.endsWith('_MS') ? 400 : 1;
      return exp === '' || Math.abs(Number(exp) - Number(act)) <= tolerance ? undefined : `${exp} vs ${act} (±${tolerance})`;
    }
    // RTP statistics are measurements of the media (SSRCs, packet counts, jitter, loss, MOS):
    // the same statistics in the same format, whatever the numbers.
    if (/^RTPAUDIOQOS[A-Z]*$/.test(variable)) {
      const shape = (v: string) => v.replace(/\d+(\.\d+)?/g, '#');
      return shape(exp) === shape(act) ? undefined : `'${exp}' vs '${act}' (RTP statistics: same fields)`;
    }
    // The recording path is the configured directory; the file name must be the channel's.
    if (variable === 'MIXMONITOR_FILENAME') return sameWithIds(basename(exp), basename(act), ids, pending) ? undefined : `${exp} vs ${act}`;
    // The voicemail spool is the configured directory; `<context>/<mailbox>/INBOX/msgNNNN` in it must be the same.
    if (variable === 'VM_MESSAGEFILE') return spoolTail(exp) === spoolTail(act) ? undefined : `${exp} vs ${act} (in the spool)`;
  }
  if (event === 'Newexten' && lower === 'appdata' && headers.some(([k, v]) => k === 'Application' && v === 'MixMonitor')) {
    return sameWithIds(basename(exp), basename(act), ids, pending) ? undefined : `${exp} vs ${act}`;
  }
  // Local channels' device state is computed asynchronously by Asterisk (scenario 20 shows
  // NOT_INUSE while a Local channel was up): the event must be there, its value is not checked.
  if (event === 'DeviceStateChange' && lower === 'state' && headers.some(([k, v]) => k === 'Device' && v.startsWith('Local/'))) return undefined;
  return sameWithIds(exp, act, ids, pending) ? undefined : `'${exp}' vs '${act}'`;
}

/** Why `act` is not `exp` (undefined when it is); new id pairs go to `pending`; `unchecked`: headers whose values are not compared. */
export function messageDiff(exp: Header[], act: Header[], ids: IdMap, pending: Map<string, string>, unchecked?: ReadonlySet<string>, verbatim?: ReadonlySet<string>): string | undefined {
  const expOut = exp.filter(([k]) => k === 'Output').map(([, v]) => v);
  const actOut = act.filter(([k]) => k === 'Output').map(([, v]) => v);
  const e = exp.filter(([k]) => k !== 'Output');
  const a = act.filter(([k]) => k !== 'Output');
  const names = (hs: Header[]) => hs.map(([k]) => k).join(',');
  if (names(e) !== names(a)) return `headers differ:\n    expected ${names(e)}\n    actual   ${names(a)}`;
  for (let i = 0; i < e.length; i++) {
    if (unchecked?.has(e[i][0])) continue;
    if (verbatim?.has(e[i][0])) {
      if (e[i][1] !== a[i][1]) return `${e[i][0]}: '${e[i][1]}' vs '${a[i][1]}' (compared verbatim)`;
      continue;
    }
    const why = valueMatches(e[i][0], e[i][1], a[i][1], e, ids, pending);
    if (why) return `${e[i][0]}: ${why}`;
  }
  return outputDiff(expOut, actOut, ids, pending);
}

/** `core show channels concise` lines: unordered; the duration field (12th) within one second. */
function outputDiff(exp: string[], act: string[], ids: IdMap, pending: Map<string, string>): string | undefined {
  if (exp.length !== act.length) return `Output: ${exp.length} lines vs ${act.length}`;
  const left = [...act];
  for (const line of exp) {
    const i = left.findIndex((cand) => {
      const ef = line.split('!');
      const af = cand.split('!');
      if (ef.length !== af.length) return false;
      const trial = new Map(pending);
      const ok = ef.every((f, k) => (ef.length === 14 && k === 11 ? Math.abs(Number(f) - Number(af[k])) <= 1 : sameWithIds(f, af[k], ids, trial)));
      if (ok) for (const [k, v] of trial) pending.set(k, v);
      return ok;
    });
    if (i < 0) return `Output: no line like '${line}'`;
    left.splice(i, 1);
  }
  return undefined;
}

const get = (hs: Header[], name: string) => hs.find(([k]) => k === name)?.[1];

const LIST_ITEMS = new Set(['CoreShowChannel', 'Status', 'ContactList']);

/** The ordering keys of a recorded message (see the module comment). */
export function orderingKeys(hs: Header[]): string[] {
  const event = get(hs, 'Event');
  const actionId = get(hs, 'ActionID');
  if (!event || event === 'FullyBooted' || event === 'SuccessfulAuth') return ['session'];
  if (event === 'OriginateResponse') return [`originate:${actionId}`];
  if (actionId !== undefined) return ['session'];
  if (event === 'CEL') return [`cel:${get(hs, 'UniqueID')}`];
  if (event === 'Cdr') return [`cdr:${get(hs, 'UniqueID')}`];
  if (event === 'DeviceStateChange') return [`device:${get(hs, 'Device')}`];
  if (event === 'QueueMemberStatus') return [`member:${get(hs, 'Interface')}`];
  const keys = ['Uniqueid', 'DestUniqueid', 'LocalOneUniqueid', 'LocalTwoUniqueid', 'BridgeUniqueid']
    .map((k) => get(hs, k))
    .filter((v): v is string => v !== undefined)
    .map((v) => `chan:${v}`);
  return keys.length > 0 ? keys : [`event:${event}`];
}

function listOf(hs: Header[]): string | undefined {
  const event = get(hs, 'Event') ?? '';
  const actionId = get(hs, 'ActionID');
  if (actionId === undefined) return undefined;
  return LIST_ITEMS.has(event) || event === 'DeviceStateChange' ? `${event}:${actionId}` : undefined;
}

export interface CompareOptions {
  /** Messages of the recording closer than this are one burst (default 0.1 s: bursts are ≤ 6 ms, gaps ≥ 200 ms). */
  burstGapSec?: number;
  /** Headers of a recorded message whose values the recording cannot hold anyone to (see the module comment). */
  unverifiable?: (expected: Header[]) => readonly string[];
  /**
   * Headers of a recorded message compared as plain text, without mapping ids: values the client
   * wrote itself and Asterisk echoed (65–67: the MixMonitor action's File names the recorded
   * Asterisk's Uniqueid, and the replay sends the action as recorded).
   */
  verbatim?: (expected: Header[]) => readonly string[];
  /** Events left out on both sides for this scenario only (65–67: `RTCPReceived`, see the module comment). */
  uncompared?: readonly string[];
  /**
   * Client actions sent in reaction to a server event (65/66: the adapter's MixMonitor on the
   * customer's channel when a phone transfers; replay.ts `Reaction`). `trigger` picks the event (the
   * first recorded message it matches), `effects` the messages the action caused. Within the
   * trigger's burst, those effects and the other messages after the trigger come in either order
   * (see the module comment); everything before the trigger stays before them.
   */
  reactions?: readonly { trigger: (expected: Header[]) => boolean; effects: (expected: Header[]) => boolean }[];
}

/** An Originate's own dial event of leg A (no caller channel): the leg's Uniqueid. */
const originateDialOf = (hs: Header[]) => {
  const event = get(hs, 'Event');
  return (event === 'DialState' || event === 'DialEnd') && get(hs, 'Channel') === undefined ? get(hs, 'DestUniqueid') : undefined;
};
/** A dial's DialState RINGING (app_dial's or an Originate's): the dialled channel's Uniqueid. */
const ringingDialOf = (hs: Header[]) => (get(hs, 'Event') === 'DialState' && get(hs, 'DialStatus') === 'RINGING' ? get(hs, 'DestUniqueid') : undefined);
const newstateOf = (hs: Header[]) => (get(hs, 'Event') === 'Newstate' ? get(hs, 'Uniqueid') : undefined);

/** A bridge variable set (`set`) or cleared on a channel: BRIDGEPEER / BRIDGEPVTCALLID. */
const bridgeVarOf = (hs: Header[]) =>
  get(hs, 'Event') === 'VarSet' && /^BRIDGE(PEER|PVTCALLID)$/.test(get(hs, 'Variable') ?? '') ? { channel: get(hs, 'Uniqueid'), set: get(hs, 'Value') !== '' } : undefined;

/** A BlindTransfer and a BridgeLeave of its transferer from the bridge it names. */
const transfererLeaves = (t: Header[], leave: Header[]) =>
  get(t, 'Event') === 'BlindTransfer' &&
  get(leave, 'Event') === 'BridgeLeave' &&
  get(leave, 'Uniqueid') === get(t, 'TransfererUniqueid') &&
  get(leave, 'BridgeUniqueid') === get(t, 'BridgeUniqueid');

/** A BlindTransfer and its transferee's Newexten, or BridgeLeave from the bridge it names. */
const transfereeMoves = (t: Header[], m: Header[]) =>
  get(t, 'Event') === 'BlindTransfer' &&
  get(m, 'Uniqueid') === get(t, 'TransfereeUniqueid') &&
  (get(m, 'Event') === 'Newexten' || (get(m, 'Event') === 'BridgeLeave' && get(m, 'BridgeUniqueid') === get(t, 'BridgeUniqueid')));

/** The end of a Dial() on a channel: its timers and status, and its SoftHangupRequest (Cause 16). */
const DIAL_END_VARS = new Set(['ANSWEREDTIME', 'ANSWEREDTIME_MS', 'DIALEDTIME', 'DIALEDTIME_MS', 'DIALSTATUS']);
const dialEnds = (h: Header[]) =>
  (get(h, 'Event') === 'VarSet' && DIAL_END_VARS.has(get(h, 'Variable') ?? '')) || (get(h, 'Event') === 'SoftHangupRequest' && get(h, 'Cause') === '16');
/** The REFER thread's SoftHangupRequest (Cause 1) of an attended transfer's consultation channel, and that channel's Dial ending. */
const consultationEnds = (s: Header[], d: Header[], consultations: ReadonlySet<string>) =>
  get(s, 'Event') === 'SoftHangupRequest' && get(s, 'Cause') === '1' && consultations.has(get(s, 'Uniqueid') ?? '') && get(d, 'Uniqueid') === get(s, 'Uniqueid') && dialEnds(d);

/**
 * The two messages' order is free within a burst (see the module comment); `transferBridges`:
 * bridges a BlindTransfer named; `consultations`: the consultation channels AttendedTransfer named.
 */
function freeOrder(a: Header[], b: Header[], transferBridges: ReadonlySet<string>, consultations: ReadonlySet<string> = new Set()): boolean {
  const da = originateDialOf(a) ?? ringingDialOf(a);
  const db = originateDialOf(b) ?? ringingDialOf(b);
  if ((da !== undefined && da === newstateOf(b)) || (db !== undefined && db === newstateOf(a))) return true;
  // A transfer reconfigures the bridge from two threads: a channel's bridge variables are set once
  // more and cleared, in either order (59: set then cleared on the transferer, 63: cleared then set).
  const va = bridgeVarOf(a);
  const vb = bridgeVarOf(b);
  if (va && vb && va.channel === vb.channel && va.set !== vb.set) return true;
  // The REFER's thread publishes BlindTransfer while the transferer's own thread leaves the bridge (60: after, 64: before),
  // and the transferer and the transferee leave that bridge from their own threads (60: the transferee first, 64: the transferer).
  if (transfererLeaves(a, b) || transfererLeaves(b, a)) return true;
  // It also races the transferee's own thread, which runs the stale AppDial and leaves that bridge (64: BlindTransfer
  // before both, 65: after both).
  if (transfereeMoves(a, b) || transfereeMoves(b, a)) return true;
  // The REFER's thread ends the consultation channel (Cause 1) while that channel's own thread ends its Dial
  // (61/62: before its Dial's timers, 66: after its SoftHangupRequest 16).
  if (consultationEnds(a, b, consultations) || consultationEnds(b, a, consultations)) return true;
  const bridge = get(a, 'BridgeUniqueid');
  return get(a, 'Event') === 'BridgeLeave' && get(b, 'Event') === 'BridgeLeave' && bridge !== undefined && bridge === get(b, 'BridgeUniqueid') && transferBridges.has(bridge);
}

export function compareMessages(allExpected: ServerMessage[], allActual: Header[][], options: CompareOptions = {}): CompareResult {
  const expected = allExpected.filter((m) => isCompared(m.headers, options));
  const actual = allActual.filter((m) => isCompared(m, options));
  const gap = options.burstGapSec ?? 0.1;
  const burst: number[] = [];
  expected.forEach((m, i) => {
    const prev = expected[i - 1];
    const sameBurst = i > 0 && m.t !== undefined && prev.t !== undefined && m.t - prev.t < gap;
    burst.push(i === 0 ? 0 : sameBurst ? burst[i - 1] : burst[i - 1] + 1);
  });
  const keys = expected.map((m) => orderingKeys(m.headers));
  const lists = expected.map((m) => listOf(m.headers));
  const transferBridges = new Set(expected.filter((m) => get(m.headers, 'Event') === 'BlindTransfer').map((m) => get(m.headers, 'BridgeUniqueid') ?? ''));
  const consultations = new Set(expected.filter((m) => get(m.headers, 'Event') === 'AttendedTransfer').map((m) => get(m.headers, 'SecondTransfererUniqueid') ?? ''));
  // Which of a transfer bridge's two BridgeLeave comes first is a race: each shows the bridge's
  // channel count as it left (2 or 1), so that count is not compared there.
  const leavesTransferBridge = (hs: Header[]) => get(hs, 'Event') === 'BridgeLeave' && transferBridges.has(get(hs, 'BridgeUniqueid') ?? '');
  // A reaction's effects, and the messages after its trigger in the trigger's burst (each: the trigger's index).
  const effectOf = new Map<number, number>();
  const afterTrigger = new Map<number, number>();
  for (const r of options.reactions ?? []) {
    const t = expected.findIndex((m) => r.trigger(m.headers));
    if (t < 0) continue;
    for (let k = t + 1; k < expected.length && burst[k] === burst[t]; k++) {
      afterTrigger.set(k, t);
      if (r.effects(expected[k].headers)) effectOf.set(k, t);
    }
  }
  // Which connected line an effect's snapshot shows depends on where it landed (65: before or after the Dial's).
  const unchecked = expected.map(
    (m, k) =>
      new Set([
        ...(options.unverifiable?.(m.headers) ?? []),
        ...(leavesTransferBridge(m.headers) ? ['BridgeNumChannels'] : []),
        ...(effectOf.has(k) ? ['ConnectedLineNum', 'ConnectedLineName'] : []),
      ]),
  );
  const verbatim = expected.map((m) => new Set(options.verbatim?.(m.headers) ?? []));
  /** The client's reaction time decides where its action's effects land among what follows the trigger. */
  const reactionFree = (i: number, j: number) =>
    (effectOf.has(i) && !effectOf.has(j) && afterTrigger.get(j) === effectOf.get(i)) || (effectOf.has(j) && !effectOf.has(i) && afterTrigger.get(i) === effectOf.get(j));
  const mustPrecede = expected.map((_m, j) =>
    expected
      .map((_x, i) => i)
      .filter(
        (i) =>
          i < j &&
          (burst[i] < burst[j] ||
            (keys[i].some((k) => keys[j].includes(k)) &&
              !(lists[i] !== undefined && lists[i] === lists[j]) &&
              !freeOrder(expected[i].headers, expected[j].headers, transferBridges, consultations) &&
              !reactionFree(i, j))),
      ),
  );

  const ids = new IdMap();
  const matched = new Array<boolean>(expected.length).fill(false);
  const problems: string[] = [];
  const describe = (hs: Header[]) =>
    ['Response', 'Event', 'EventName', 'Channel', 'DestChannel', 'Variable', 'Value', 'Application', 'Device', 'Cause', 'ActionID']
      .map((k) => [k, get(hs, k)])
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');

  for (let n = 0; n < actual.length; n++) {
    const act = actual[n];
    const available = expected.map((_m, j) => j).filter((j) => !matched[j] && mustPrecede[j].every((i) => matched[i]));
    let chosen: number | undefined;
    let closest: string | undefined;
    for (const j of available) {
      const pending = new Map<string, string>();
      const why = messageDiff(expected[j].headers, act, ids, pending, unchecked[j], verbatim[j]);
      if (why === undefined) {
        ids.commit(pending);
        chosen = j;
        break;
      }
      if (closest === undefined && get(expected[j].headers, 'Event') === get(act, 'Event') && get(expected[j].headers, 'Response') === get(act, 'Response')) {
        closest = `#${j} ${describe(expected[j].headers)}: ${why}`;
      }
    }
    if (chosen === undefined) {
      const waiting = expected
        .map((_m, j) => j)
        .filter((j) => !matched[j] && get(expected[j].headers, 'Event') === get(act, 'Event') && get(expected[j].headers, 'Response') === get(act, 'Response'))
        .slice(0, 3)
        .map((j) => `#${j} ${describe(expected[j].headers)} (after ${mustPrecede[j].filter((i) => !matched[i]).slice(0, 3).map((i) => `#${i} ${describe(expected[i].headers)}`).join('; ')})`);
      problems.push(
        `actual message ${n} is unexpected here: ${describe(act)}` +
          (closest ? `\n  closest allowed: ${closest}` : '') +
          (waiting.length ? `\n  not yet allowed: ${waiting.join('\n    ')}` : ''),
      );
      break;
    }
    matched[chosen] = true;
  }
  if (problems.length === 0) {
    const missing = expected.map((m, j) => ({ m, j })).filter(({ j }) => !matched[j]);
    for (const { m, j } of missing.slice(0, 10)) problems.push(`missing expected message #${j}: ${describe(m.headers)}`);
  }
  return { ok: problems.length === 0, problems };
}
