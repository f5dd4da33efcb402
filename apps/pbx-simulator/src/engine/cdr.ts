import type { Header } from '../ami/protocol';
import { formatLocal } from './clock';
import { Channel, formatCallerId } from './channel';

/** One call detail record as cdr_manager prints it (cdr.conf: unanswered=yes, congestion=yes). */
export interface CdrRecord {
  accountCode: string;
  src: string;
  dst: string;
  dcontext: string;
  clid: string;
  channel: string;
  dstchannel: string;
  lastapp: string;
  lastdata: string;
  start: number;
  answer?: number;
  end?: number;
  disposition?: string;
  uniqueid: string;
  userfield: string;
  /** Outcome of the Dial (or the Originate) this record covers, when there was one. */
  dialStatus?: string;
  /** A Dial() that created no channel (CHANUNAVAIL) stays this record's last application (fixture 46). */
  keepsDial?: boolean;
  /**
   * A Dial() of this record was answered: the record was finalized when the bridge ended, so it
   * keeps naming the Dial with its substituted data whoever hung up (fixture 50: the colleague).
   */
  bridgedDial?: boolean;
}

const DIAL_DISPOSITION: Record<string, string> = {
  ANSWER: 'ANSWERED',
  BUSY: 'BUSY',
  NOANSWER: 'NO ANSWER',
  CANCEL: 'NO ANSWER',
  CONGESTION: 'CONGESTION',
  CHANUNAVAIL: 'FAILED',
};

function causeDisposition(cause: number): string {
  if (cause === 17) return 'BUSY';
  if (cause === 16 || cause === 18 || cause === 19) return 'NO ANSWER';
  if (cause === 34) return 'CONGESTION';
  return 'FAILED';
}

/**
 * The CDR chain of one party-A channel. Asterisk keeps one record per channel until a Dial()
 * fails and the channel carries on in the dial plan: then that record is closed with the dial's
 * disposition and a new one starts (scenario 09 shows both).
 */
export class CdrChain {
  private readonly records: CdrRecord[] = [];

  /**
   * `answered`: the channel was answered before its record began — a transferred party that
   * gets a dial plan of its own (fixture 60: the customer's trunk channel, dialled by the
   * employee, had no record; its own starts at the transfer with Start = Answer).
   */
  constructor(ch: Channel, now: number, answered = false) {
    this.records.push({ ...this.fresh(ch, now), answer: answered ? now : undefined });
  }

  private get current(): CdrRecord {
    return this.records[this.records.length - 1];
  }

  private fresh(ch: Channel, now: number, from?: CdrRecord): CdrRecord {
    return {
      accountCode: ch.accountCode,
      src: ch.callerId.num,
      dst: from?.dst ?? ch.exten,
      dcontext: from?.dcontext ?? ch.context,
      clid: formatCallerId(ch.callerId),
      channel: ch.name,
      dstchannel: '',
      lastapp: from?.lastapp ?? ch.appl,
      lastdata: from?.lastdata ?? ch.data,
      start: now,
      answer: from && ch.answeredAt !== undefined ? now : undefined,
      uniqueid: ch.uniqueid,
      userfield: from?.userfield ?? '',
    };
  }

  /**
   * A dial plan application started on the channel. A record whose Dial was answered is final
   * (see `bridgedDial`): a step after that bridge — only a transferred caller goes on in its dial
   * plan — ends it there, and the next record starts answered (Start = Answer) naming that step
   * and the ones after it (59: the Dial of the colleague; 63: rc-outbound's refused MixMonitor).
   */
  onApplication(ch: Channel, now: number): void {
    if (this.current.keepsDial) return;
    if (this.current.bridgedDial) {
      const closed = this.current;
      this.close(ch, closed, now);
      this.records.push(this.fresh(ch, now, closed));
    }
    Object.assign(this.current, { lastapp: ch.appl, lastdata: ch.data, dst: ch.exten, dcontext: ch.context });
  }

  /** The channel's application and data became `text` as the record saw them last (see runPbx). */
  onStaleApplication(text: string): void {
    if (this.current.keepsDial || this.current.bridgedDial) return;
    Object.assign(this.current, { lastapp: text, lastdata: text });
  }

  onAnswer(now: number): void {
    this.current.answer ??= now;
  }

  setUserfield(value: string): void {
    this.current.userfield = value;
  }

  /** CDR(<field>) as the dial plan reads it. */
  read(field: string): string {
    const r = this.current;
    const values: Record<string, string> = {
      userfield: r.userfield,
      accountcode: r.accountCode,
      src: r.src,
      dst: r.dst,
      dcontext: r.dcontext,
      channel: r.channel,
      dstchannel: r.dstchannel,
      lastapp: r.lastapp,
      lastdata: r.lastdata,
      uniqueid: r.uniqueid,
      disposition: r.disposition ?? '',
    };
    return values[field] ?? '';
  }

  /**
   * A transfer moved the channel while it was bridged: its record follows it to the new place
   * (fixture 59: the PSTN caller's record of the call with A says Destination 902, the
   * extension it was transferred to, like the record of its call with B).
   */
  onGoto(ch: Channel): void {
    if (this.current.keepsDial) return;
    Object.assign(this.current, { dst: ch.exten, dcontext: ch.context });
  }

  /** This channel started dialling `dest` (a transferred caller's next record already began at its Dial: onApplication). */
  onDialBegin(_ch: Channel, dest: Channel, _now: number): void {
    this.current.dstchannel = dest.name;
  }

  /**
   * An attended transfer moved this channel (party A of its record) into the colleague's bridge
   * (fixture 61: the PSTN caller). Its record ends there, with the account code it had, and the
   * next one starts answered at that moment, naming the new peer; destination, application and
   * userfield stay the Dial's (the caller is still in it): the two Cdr 61 shows at the end.
   */
  onMovedToBridge(ch: Channel, peer: Channel, now: number): void {
    const closed = this.current;
    this.close(ch, closed, now);
    this.records.push({ ...this.fresh(ch, now, closed), answer: now, dstchannel: peer.name, dialStatus: closed.dialStatus, bridgedDial: closed.bridgedDial });
  }

  /** The record names this peer (a channel that became party A in a bridge, 62: the transferred customer's trunk channel and B). */
  onBridgePeer(peer: Channel): void {
    this.current.dstchannel = peer.name;
  }

  /** The dial this channel placed ended; a failed dial closes the record and opens the next one. */
  onDialEnd(ch: Channel, status: string, now: number): void {
    if (status === 'ANSWER') {
      this.current.dialStatus = status;
      this.current.bridgedDial = true;
      // Party A's own answer when it came first (fixture 47: the originated phone answered 1 s
      // before the colleague; BillableSeconds count from it).
      this.current.answer ??= now;
      return;
    }
    if (status === 'CHANUNAVAIL' && !this.current.dstchannel) {
      // Nobody was dialled (the phone is not registered): no new record. This one goes on naming the
      // Dial, and a later answer (VoiceMail) makes it ANSWERED — real Asterisk's one CDR of fixture 46.
      Object.assign(this.current, { dialStatus: status, keepsDial: true });
      return;
    }
    const closed = this.current;
    this.close(ch, closed, now, status);
    this.records.push(this.fresh(ch, now, closed));
  }

  /** This channel was the one dialled (by an Originate): its own record takes the dial's outcome. */
  onDialledEnd(status: string): void {
    this.current.dialStatus = status;
  }

  private close(ch: Channel, r: CdrRecord, now: number, dialStatus?: string): void {
    r.end = now;
    r.src = ch.callerId.num;
    r.clid = formatCallerId(ch.callerId);
    r.accountCode = ch.accountCode;
    if (dialStatus) r.dialStatus = dialStatus;
    if (r.keepsDial && r.answer !== undefined) r.disposition = 'ANSWERED';
    else if (r.dialStatus) r.disposition = DIAL_DISPOSITION[r.dialStatus] ?? 'FAILED';
    else r.disposition = r.answer !== undefined ? 'ANSWERED' : causeDisposition(ch.hangupCause);
  }

  /** The channel hung up: closes the open record and returns every record, in order. */
  finish(ch: Channel, now: number): CdrRecord[] {
    this.close(ch, this.current, now);
    return this.records;
  }
}

export function cdrHeaders(r: CdrRecord): Header[] {
  const end = r.end ?? r.start;
  // billsec counts from the answer whatever the disposition (fixture 34: NO ANSWER, 60 s billed on leg A).
  const answered = r.answer !== undefined;
  return [
    ['AccountCode', r.accountCode],
    ['Source', r.src],
    ['Destination', r.dst],
    ['DestinationContext', r.dcontext],
    ['CallerID', r.clid],
    ['Channel', r.channel],
    ['DestinationChannel', r.dstchannel],
    ['LastApplication', r.lastapp],
    ['LastData', r.lastdata],
    ['StartTime', formatLocal(r.start)],
    ['AnswerTime', r.answer !== undefined ? formatLocal(r.answer) : ''],
    ['EndTime', formatLocal(end)],
    ['Duration', String(Math.max(0, Math.floor((end - r.start) / 1000)))],
    ['BillableSeconds', String(answered ? Math.max(0, Math.floor((end - r.answer!) / 1000)) : 0)],
    ['Disposition', r.disposition ?? 'FAILED'],
    ['AMAFlags', 'DOCUMENTATION'],
    ['UniqueID', r.uniqueid],
    ['UserField', r.userfield],
  ];
}
