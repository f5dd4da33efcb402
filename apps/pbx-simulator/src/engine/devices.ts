import type { QueueDef } from '../dialplan/dialplan';
import { Channel, ChannelState } from './channel';
import type { Publisher } from './publisher';

/**
 * How a simulated SIP phone reacts to an incoming INVITE: answers, 486 Busy at once, rings until
 * cancelled, or rings and then answers 486 Busy (`ring_busy`, the busy delay later: fixtures 52/53).
 */
export type PhoneBehaviour = 'answer' | 'busy' | 'no_answer' | 'ring_busy';

/** Contact status labels as res_pjsip prints them (pjsip_options.c status_map). */
export type ContactState = 'NonQualified' | 'Reachable' | 'Unreachable';

/** A registered contact (what a phone's REGISTER leaves in Asterisk's astdb). */
export interface Contact {
  endpoint: string;
  aor: string;
  /** `<aor>;@<md5>`: the contact's sorcery id. */
  id: string;
  uri: string;
  userAgent: string;
  callId: string;
  viaAddr: string;
  viaPort: string;
  /** Epoch seconds when the registration expires. */
  expires: number;
  /** The AOR's qualify_frequency when the phone registered (seconds; 0 = no OPTIONS). */
  qualifyFrequency: number;
  status: ContactState;
  /** Round trip of the last OPTIONS, µs (0 before the first one). */
  rttUsec: number;
}

/**
 * Which SIP phones have a contact (are registered) and how each answers. A contact is created by
 * a REGISTER (the control API, or auto-registration of provisioned endpoints) and removed by an
 * unregister; a phone unregistered through the control API stays so (auto-registration leaves it
 * alone) until it registers again.
 */
export class Registrations {
  private readonly contacts = new Map<string, Contact>();
  private readonly behaviours = new Map<string, PhoneBehaviour>();
  private readonly hangingUp = new Set<string>();
  private readonly optedOut = new Set<string>();

  constructor(readonly autoRegister: boolean) {}

  contact(user: string): Contact | undefined {
    return this.contacts.get(user);
  }

  isRegistered(user: string): boolean {
    return this.contacts.has(user);
  }

  /** Auto-registration applies to this endpoint (on, and not unregistered by hand). */
  autoRegisters(user: string): boolean {
    return this.autoRegister && !this.optedOut.has(user);
  }

  behaviour(user: string): PhoneBehaviour {
    return this.behaviours.get(user) ?? 'answer';
  }

  setBehaviour(user: string, behaviour: PhoneBehaviour): void {
    this.behaviours.set(user, behaviour);
  }

  /**
   * Whether the phone ends a call it was rung for (leg A of an Originate) by itself: BYE the talk
   * time after it answered (fixture 47's SIPp phone), instead of staying on the line until the
   * other side or the PBX hangs up (45, 49). Default: it stays.
   */
  hangsUp(user: string): boolean {
    return this.hangingUp.has(user);
  }

  setHangsUp(user: string, hangsUp: boolean): void {
    if (hangsUp) this.hangingUp.add(user);
    else this.hangingUp.delete(user);
  }

  add(contact: Contact): void {
    this.optedOut.delete(contact.endpoint);
    this.contacts.set(contact.endpoint, contact);
  }

  /** The phone unregistered: auto-registration leaves it alone from now on. */
  remove(user: string): Contact | undefined {
    this.optedOut.add(user);
    const c = this.contacts.get(user);
    this.contacts.delete(user);
    return c;
  }

  /** Every contact, in registration order (PJSIPShowContacts). */
  all(): Contact[] {
    return [...this.contacts.values()];
  }
}

const QMS_STATUS: Record<string, number> = { NOT_INUSE: 1, INUSE: 2, BUSY: 3, INVALID: 4, UNAVAILABLE: 5, RINGING: 6, RINGINUSE: 7, ONHOLD: 8 };

interface MemberStats {
  queue: string;
  name: string;
  callsTaken: number;
  lastCall: number;
  inCall: boolean;
}

/**
 * Device states as Asterisk publishes them (DeviceStateChange) and the cache DeviceStateList
 * reports, with the queue-member status that follows them. Local devices publish on every state
 * change and hangup of one of their channels (duplicates included, as recorded). A PJSIP device
 * is recomputed when one of its channels changes state or hangs up, when a dialled channel's
 * ringing is indicated to it, and when its endpoint goes on or off line; it publishes only when
 * the result differs from the cache. A device is in the cache once it was computed (or seeded:
 * endpoints that existed at start, config endpoints, queues), as in Asterisk.
 */
export class DeviceStates {
  private readonly cache = new Map<string, string>();
  private readonly members = new Map<string, MemberStats>();
  /** Last state seen per queue member device: QueueMemberStatus follows changes only. */
  private readonly memberState = new Map<string, string>();

  constructor(
    private readonly pub: Publisher,
    /** Whether a PJSIP endpoint is on line (res_pjsip's endpoint state). */
    private readonly online: (user: string) => boolean,
    private readonly liveChannels: () => Iterable<Channel>,
    private readonly loginTime: number,
    private readonly queues: Record<string, QueueDef>,
  ) {
    for (const [queue, q] of Object.entries(queues)) {
      for (const m of q.members) {
        this.members.set(m.interface, { queue, name: m.name, callsTaken: 0, lastCall: 0, inCall: false });
        this.memberState.set(m.interface, 'NOT_INUSE');
      }
    }
  }

  /** Puts a device in the cache without an event (what Asterisk computed before anyone listened). */
  seed(device: string, state: string): void {
    this.cache.set(device, state);
  }

  cached(device: string): string | undefined {
    return this.cache.get(device);
  }

  /** A Local channel changed state (Newstate) or hung up. */
  localChanged(ch: Channel, gone: boolean, invalid = false): void {
    let state = 'NOT_INUSE';
    if (invalid) state = 'INVALID';
    else if (!gone && [ChannelState.Up, ChannelState.Ring, ChannelState.Ringing].includes(ch.state)) state = 'INUSE';
    this.publish(ch.device, state);
  }

  /** Recomputes `PJSIP/<user>` and publishes it when it changed. */
  pjsipChanged(user: string): void {
    const state = this.pjsipState(user);
    if (this.cache.get(`PJSIP/${user}`) !== state) this.publish(`PJSIP/${user}`, state);
  }

  /** chan_pjsip_devicestate: the endpoint's state, then its channels' states aggregated. */
  pjsipState(user: string): string {
    let ringing = false;
    let inUse = false;
    let busy = false;
    let onHold = false;
    for (const ch of this.liveChannels()) {
      if (ch.tech !== 'PJSIP' || ch.device !== `PJSIP/${user}`) continue;
      const state = ch.state;
      // A channel a phone put on hold counts as ONHOLD (ast_devstate_aggregate: below in use; fixtures 61/62: PJSIP/trunk ONHOLD).
      if (ch.held) onHold = true;
      else if (state === ChannelState.Ringing) ringing = true;
      else if (state === ChannelState.Busy) busy = true;
      else if (state === ChannelState.Up || state === ChannelState.Ring) inUse = true;
    }
    if (ringing && inUse) return 'RINGINUSE';
    if (ringing) return 'RINGING';
    if (busy) return 'BUSY';
    if (inUse) return 'INUSE';
    if (onHold) return 'ONHOLD';
    return this.online(user) ? 'NOT_INUSE' : 'UNAVAILABLE';
  }

  /** DEVICE_STATE(): the cached state, else computed now (not cached: Asterisk asks the driver). */
  deviceState(device: string): string | undefined {
    const hit = this.cache.get(device);
    if (hit !== undefined) return hit;
    const user = /^PJSIP\/(.+)$/.exec(device)?.[1];
    return user === undefined ? undefined : this.pjsipState(user);
  }

  /** The endpoint of a channel that just hung up no longer exists (chan_pjsip_devicestate: INVALID). */
  pjsipInvalid(user: string): void {
    if (this.cache.get(`PJSIP/${user}`) !== 'INVALID') this.publish(`PJSIP/${user}`, 'INVALID');
  }

  /**
   * app_voicemail's MWI device `MWI:<box>@<context>`: INUSE while the box has new messages; an
   * event only when that changes (fixture 40: the first message; 41, 43: already INUSE).
   */
  mailboxChanged(mailbox: string, newMessages: number): void {
    const device = `MWI:${mailbox}`;
    const state = newMessages > 0 ? 'INUSE' : 'NOT_INUSE';
    const before = this.cache.get(device) ?? (newMessages > 1 ? 'INUSE' : 'NOT_INUSE');
    if (before !== state) this.publish(device, state);
    else this.cache.set(device, state);
  }

  /** A queue device (Queue:support) changed. */
  queueChanged(device: string, state: string): void {
    this.publish(device, state);
  }

  private publish(device: string, state: string): void {
    this.cache.set(device, state);
    this.pub.deviceStateChange(device, state);
    const member = this.members.get(device);
    if (member && this.memberState.get(device) !== state) {
      this.memberState.set(device, state);
      this.memberStatus(device, member, state);
    }
  }

  private memberStatus(device: string, m: MemberStats, state: string): void {
    this.pub.emit('QueueMemberStatus', 'agent,all', [
      ['Queue', m.queue],
      ['MemberName', m.name],
      ['Interface', device],
      ['StateInterface', device],
      ['Membership', 'static'],
      ['Penalty', '0'],
      ['CallsTaken', String(m.callsTaken)],
      ['LastCall', String(m.lastCall)],
      ['LastPause', '0'],
      ['LoginTime', String(Math.floor(this.loginTime / 1000))],
      ['InCall', m.inCall ? '1' : '0'],
      ['Status', String(QMS_STATUS[state] ?? 0)],
      ['Paused', '0'],
      ['PausedReason', ''],
      ['Ringinuse', '1'],
      ['Wrapuptime', '0'],
    ]);
  }

  memberCallStarted(device: string): void {
    const m = this.members.get(device);
    if (m) m.inCall = true;
  }

  memberCallEnded(device: string, now: number): void {
    const m = this.members.get(device);
    if (!m) return;
    m.inCall = false;
    m.callsTaken++;
    m.lastCall = Math.floor(now / 1000);
  }

  /** The cache as DeviceStateList lists it (queue bookkeeping devices included, as Asterisk lists them). */
  snapshot(): [string, string][] {
    const rows: [string, string][] = [...this.cache];
    for (const [queue, q] of Object.entries(this.queues)) {
      for (const m of q.members) rows.push([`Queue:${queue}_pause_${m.interface}`, 'NOT_INUSE']);
      rows.push([`Queue:${queue}_avail`, 'INUSE']);
    }
    return rows;
  }
}
