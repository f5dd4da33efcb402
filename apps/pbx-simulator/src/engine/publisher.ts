import type { Header } from '../ami/protocol';
import { SimClock, formatLocal } from './clock';
import { CAUSE_TEXT, Channel } from './channel';

/** An event as the engine publishes it; the AMI server fans it out to every listening session. */
export interface AmiEvent {
  name: string;
  /** Every header, `Event` and `Privilege` first, exactly as sent on the wire. */
  headers: Header[];
  /** The event's class (call, dialplan, cdr, agent, system, security) for `Events:` filtering. */
  category: string;
}

export type EventSink = (event: AmiEvent) => void;

export interface BridgeInfo {
  id: string;
  numChannels: number;
  /** simple_bridge, or native_rtp once the smart bridge switched (fixture 47). */
  technology?: string;
}

/**
 * Builds AMI events with Asterisk 22's exact header sets (as in the recorded transcripts) and
 * hands them to the sink. One method per event type; the engine decides when each one happens.
 */
export class Publisher {
  constructor(
    private readonly sink: EventSink,
    private readonly clock: SimClock,
    /** cel_manager is loaded (cel.conf): the first lab had it, docker/asterisk has no cel.conf. */
    private readonly celEnabled = true,
  ) {}

  emit(name: string, privilege: string, headers: Header[]): void {
    this.sink({ name, category: privilege.split(',')[0].toLowerCase(), headers: [['Event', name], ['Privilege', privilege], ...headers] });
  }

  newchannel(ch: Channel): void {
    this.emit('Newchannel', 'call,all', ch.snapshot());
  }

  newstate(ch: Channel): void {
    this.emit('Newstate', 'call,all', ch.snapshot());
  }

  newexten(ch: Channel): void {
    this.emit('Newexten', 'dialplan,all', [...ch.snapshot(), ['Extension', ch.exten], ['Application', ch.appl], ['AppData', ch.data]]);
  }

  varSet(ch: Channel, variable: string, value: string): void {
    this.emit('VarSet', 'dialplan,all', [...ch.snapshot(), ['Variable', variable], ['Value', value]]);
  }

  newCallerid(ch: Channel): void {
    this.emit('NewCallerid', 'call,all', [...ch.snapshot(), ['CID-CallingPres', '0 (Presentation Allowed, Not Screened)']]);
  }

  newConnectedLine(ch: Channel): void {
    this.emit('NewConnectedLine', 'call,all', ch.snapshot());
  }

  localBridge(one: Channel, two: Channel, context: string, exten: string): void {
    this.emit('LocalBridge', 'call,all', [
      ...one.snapshot('LocalOne'),
      ...two.snapshot('LocalTwo'),
      ['Context', context],
      ['Exten', exten],
      ['LocalOptimization', 'Yes'],
    ]);
  }

  dialBegin(caller: Channel | undefined, dest: Channel, dialString: string): void {
    this.emit('DialBegin', 'call,all', [...(caller?.snapshot() ?? []), ...dest.snapshot('Dest'), ['DialString', dialString]]);
  }

  dialState(caller: Channel | undefined, dest: Channel, status: string): void {
    this.emit('DialState', 'call,all', [...(caller?.snapshot() ?? []), ...dest.snapshot('Dest'), ['DialStatus', status]]);
  }

  dialEnd(caller: Channel | undefined, dest: Channel, status: string): void {
    this.emit('DialEnd', 'call,all', [...(caller?.snapshot() ?? []), ...dest.snapshot('Dest'), ['DialStatus', status]]);
  }

  /** `TechCause`: the SIP status behind a PJSIP channel's hangup, once the channel has one. */
  private techCause(ch: Channel): Header[] {
    return ch.techCause ? [['TechCause', String(ch.techCause)]] : [];
  }

  /** `cause` undefined: a hangup queued without one (no Cause header; the channel's TechCause still shows). */
  hangupRequest(ch: Channel, cause: number | undefined): void {
    this.emit('HangupRequest', 'call,all', [...ch.snapshot(), ...(cause === undefined ? [] : [['Cause', String(cause)] as Header]), ...this.techCause(ch)]);
  }

  softHangupRequest(ch: Channel, cause: number): void {
    this.emit('SoftHangupRequest', 'call,all', [...ch.snapshot(), ['Cause', String(cause)], ...this.techCause(ch)]);
  }

  hangup(ch: Channel): void {
    this.emit('Hangup', 'call,all', [...ch.snapshot(), ['Cause', String(ch.hangupCause)], ['Cause-txt', CAUSE_TEXT[ch.hangupCause] ?? 'Unknown'], ...this.techCause(ch)]);
  }

  newAccountCode(ch: Channel, old: string): void {
    this.emit('NewAccountCode', 'call,all', [...ch.snapshot(), ['OldAccountCode', old]]);
  }

  /** A global variable set (dial plan load/reload): no channel. */
  globalVarSet(variable: string, value: string): void {
    this.emit('VarSet', 'dialplan,all', [['Channel', 'none'], ['Uniqueid', 'none'], ['Variable', variable], ['Value', value]]);
  }

  /** res_rtp_asterisk's RTCP report for a channel with media (class reporting). */
  rtcpSent(ch: Channel, report: Header[]): void {
    this.emit('RTCPSent', 'reporting,all', [...ch.snapshot(), ...report]);
  }

  /** app_voicemail's MWI update (manager_mwi.c), with the channel that left the message. */
  messageWaiting(ch: Channel | undefined, mailbox: string, newMessages: number, oldMessages: number): void {
    this.emit('MessageWaiting', 'call,all', [
      ...(ch ? ch.snapshot() : []),
      ['Mailbox', mailbox],
      ['Waiting', newMessages + oldMessages > 0 ? '1' : '0'],
      ['New', String(newMessages)],
      ['Old', String(oldMessages)],
    ]);
  }

  /** A phone took the call off hold (chan_pjsip; a REFER's transfer does it first, fixtures 59/60). */
  unhold(ch: Channel): void {
    this.emit('Unhold', 'call,all', ch.snapshot());
  }

  /**
   * A phone put the call on hold (chan_pjsip, a re-INVITE sendonly; fixtures 61/62): on the phone's
   * channel, with the music class the held party is offered (res_musiconhold was not loaded in
   * the lab: the caller heard silence, the event says `default` all the same).
   */
  hold(ch: Channel, musicClass = 'default'): void {
    this.emit('Hold', 'call,all', [...ch.snapshot(), ['MusicClass', musicClass]]);
  }

  /**
   * An attended transfer (stasis_bridges.c), built from snapshots taken before anything moved
   * (fixtures 61/62: TransferTargetLinkedid is still the consultation's). `DestType Bridge`: the
   * transferee was moved into the consultation's bridge.
   */
  attendedTransferHeaders(
    orig: { transferer: Channel; bridge: BridgeInfo },
    second: { transferer: Channel; bridge: BridgeInfo },
    transferee: Channel,
    target: Channel,
  ): Header[] {
    return [
      ['Result', 'Success'],
      ...orig.transferer.snapshot('OrigTransferer'),
      ...this.bridgeBlock(orig.bridge, 'OrigBridge'),
      ...second.transferer.snapshot('SecondTransferer'),
      ...this.bridgeBlock(second.bridge, 'SecondBridge'),
      ...transferee.snapshot('Transferee'),
      ...target.snapshot('TransferTarget'),
      ['IsExternal', 'No'],
      ['DestType', 'Bridge'],
      ['DestBridgeUniqueid', second.bridge.id],
    ];
  }

  /**
   * A blind transfer (stasis_bridges.c): both channels as they were before the transferee moved,
   * the bridge they were in, and where the transferee goes. `IsExternal`: requested by the
   * channel's own protocol (a SIP REFER), not by a dial plan feature.
   */
  blindTransfer(transferer: Channel, transferee: Channel, bridge: BridgeInfo, context: string, exten: string): void {
    this.emit('BlindTransfer', 'call,all', [
      ['Result', 'Success'],
      ...transferer.snapshot('Transferer'),
      ...transferee.snapshot('Transferee'),
      ...this.bridgeBlock(bridge),
      ['IsExternal', 'Yes'],
      ['Context', context],
      ['Extension', exten],
    ]);
  }

  mixMonitorStart(ch: Channel): void {
    this.emit('MixMonitorStart', 'call,all', ch.snapshot());
  }

  deviceStateChange(device: string, state: string): void {
    this.emit('DeviceStateChange', 'call,all', [['Device', device], ['State', state]]);
  }

  private bridgeBlock(b: BridgeInfo, prefix = 'Bridge'): Header[] {
    return [
      [`${prefix}Uniqueid`, b.id],
      [`${prefix}Type`, 'basic'],
      [`${prefix}Technology`, b.technology ?? 'simple_bridge'],
      [`${prefix}Creator`, '<unknown>'],
      [`${prefix}Name`, '<unknown>'],
      [`${prefix}NumChannels`, String(b.numChannels)],
      [`${prefix}VideoSourceMode`, 'none'],
    ];
  }

  bridgeCreate(b: BridgeInfo): void {
    this.emit('BridgeCreate', 'call,all', this.bridgeBlock(b));
  }

  bridgeDestroy(b: BridgeInfo): void {
    this.emit('BridgeDestroy', 'call,all', this.bridgeBlock(b));
  }

  /** `swapped`: the channel this one took the place of (an attended transfer's swap, 61/62: SwapUniqueid). */
  bridgeEnter(b: BridgeInfo, ch: Channel, swapped?: Channel): void {
    this.emit('BridgeEnter', 'call,all', [...this.bridgeBlock(b), ...ch.snapshot(), ...(swapped ? ([['SwapUniqueid', swapped.uniqueid]] as Header[]) : [])]);
  }

  bridgeLeave(b: BridgeInfo, ch: Channel): void {
    this.emit('BridgeLeave', 'call,all', [...this.bridgeBlock(b), ...ch.snapshot()]);
  }

  /** Channel Event Logging record (cel_manager). */
  cel(ch: Channel, eventName: string, opts: { application?: string; appData?: string; peer?: string; extra?: string } = {}): void {
    if (!this.celEnabled) return;
    this.emit('CEL', 'call,all', [
      ['EventName', eventName],
      ['AccountCode', ch.accountCode],
      ['CallerIDnum', ch.callerId.num],
      ['CallerIDname', ch.callerId.name],
      ['CallerIDani', ch.ani],
      ['CallerIDrdnis', ''],
      ['CallerIDdnid', ''],
      ['Exten', ch.exten],
      ['Context', ch.context],
      ['Channel', ch.name],
      ['Application', opts.application ?? ch.appl],
      ['AppData', opts.appData ?? ch.data],
      ['EventTime', formatLocal(this.clock.now())],
      ['AMAFlags', 'DOCUMENTATION'],
      ['UniqueID', ch.uniqueid],
      ['LinkedID', ch.linkedid],
      ['Userfield', ''],
      ['Peer', opts.peer ?? ''],
      ['PeerAccount', ''],
      ['Extra', opts.extra ?? ''],
    ]);
  }
}
