import { QUEUES } from '../dialplan/dialplan';
import { Channel, ChannelState } from './channel';
import type { Publisher } from './publisher';

/** How a simulated SIP phone reacts to an incoming INVITE. */
export type PhoneBehaviour = 'answer' | 'busy' | 'no_answer';

/**
 * Which SIP phones are registered. Real phones REGISTER; here every provisioned endpoint counts as
 * registered unless the control API said otherwise (SIM_AUTO_REGISTER=true), or none does.
 */
export class Registrations {
  private readonly explicit = new Map<string, { registered: boolean; behaviour: PhoneBehaviour; since: number }>();

  constructor(private readonly autoRegister: boolean) {}

  isRegistered(user: string): boolean {
    return this.explicit.get(user)?.registered ?? this.autoRegister;
  }

  behaviour(user: string): PhoneBehaviour {
    return this.explicit.get(user)?.behaviour ?? 'answer';
  }

  /** Epoch ms of the registration (for the contact's expiry), when registered. */
  registeredSince(user: string, fallback: number): number {
    return this.explicit.get(user)?.since ?? fallback;
  }

  set(user: string, registered: boolean, behaviour: PhoneBehaviour, now: number): void {
    this.explicit.set(user, { registered, behaviour, since: now });
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
 * Device states as Asterisk publishes them (DeviceStateChange) and the queue-member status that
 * follows them. Local devices publish on every state change and hangup of one of their channels
 * (duplicates included, as recorded); PJSIP devices publish only real changes.
 */
export class DeviceStates {
  /** The device state cache DeviceStateList reports. */
  private readonly cache = new Map<string, string>();
  private readonly members = new Map<string, MemberStats>();
  /** Last state seen per queue member device: QueueMemberStatus follows changes only. */
  private readonly memberState = new Map<string, string>();

  constructor(
    private readonly pub: Publisher,
    private readonly registrations: Registrations,
    private readonly liveChannels: () => Iterable<Channel>,
    private readonly loginTime: number,
  ) {
    for (const [queue, q] of Object.entries(QUEUES)) {
      for (const m of q.members) {
        this.members.set(m.interface, { queue, name: m.name, callsTaken: 0, lastCall: 0, inCall: false });
        this.memberState.set(m.interface, 'NOT_INUSE');
      }
    }
  }

  /** A Local channel changed state (Newstate) or hung up. */
  localChanged(ch: Channel, gone: boolean, invalid = false): void {
    let state = 'NOT_INUSE';
    if (invalid) state = 'INVALID';
    else if (!gone && [ChannelState.Up, ChannelState.Ring, ChannelState.Ringing].includes(ch.state)) state = 'INUSE';
    this.publish(ch.device, state);
  }

  /** A PJSIP channel changed state or hung up, or its endpoint (un)registered. */
  pjsipChanged(user: string): void {
    const state = this.pjsipState(user);
    if (this.cache.get(`PJSIP/${user}`) !== state) this.publish(`PJSIP/${user}`, state);
  }

  pjsipState(user: string): string {
    let ringing = false;
    let inUse = false;
    for (const ch of this.liveChannels()) {
      if (ch.tech !== 'PJSIP' || ch.device !== `PJSIP/${user}`) continue;
      if (ch.state === ChannelState.Ringing) ringing = true;
      else if (ch.state === ChannelState.Up || ch.state === ChannelState.Ring || ch.state === ChannelState.Busy) inUse = true;
    }
    if (ringing && inUse) return 'RINGINUSE';
    if (ringing) return 'RINGING';
    if (inUse) return 'INUSE';
    return this.registrations.isRegistered(user) ? 'NOT_INUSE' : 'UNAVAILABLE';
  }

  /** A provisioned endpoint was removed: its phone can no longer be reached. */
  pjsipRemoved(user: string): void {
    this.publish(`PJSIP/${user}`, 'UNAVAILABLE');
    this.cache.delete(`PJSIP/${user}`);
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

  /** Every cached device and its state (queue bookkeeping devices included, as Asterisk lists them). */
  snapshot(): [string, string][] {
    const rows: [string, string][] = [];
    for (const [queue, q] of Object.entries(QUEUES)) {
      for (const m of q.members) rows.push([`Queue:${queue}_pause_${m.interface}`, 'NOT_INUSE']);
      rows.push([`Queue:${queue}_avail`, 'INUSE']);
    }
    for (const [device, state] of this.cache) if (!device.startsWith('PJSIP/')) rows.push([device, state]);
    return rows;
  }
}

/**
 * Real phones REGISTER soon after they are provisioned. With auto-registration on, an endpoint
 * that appears in ps_endpoints is announced like a registration (DeviceStateChange NOT_INUSE), and
 * one that disappears as UNAVAILABLE. Endpoints present at start are registered silently.
 */
export class ProvisioningWatcher {
  private known?: Set<string>;

  constructor(
    private readonly listIds: () => Promise<string[] | undefined>,
    private readonly registrations: Registrations,
    private readonly devices: DeviceStates,
  ) {}

  async poll(): Promise<void> {
    const ids = await this.listIds();
    if (ids === undefined) return; // table unreadable: nothing is known to have changed
    const now = new Set(ids);
    if (this.known) {
      for (const id of now) if (!this.known.has(id) && this.registrations.isRegistered(id)) this.devices.pjsipChanged(id);
      for (const id of this.known) if (!now.has(id)) this.devices.pjsipRemoved(id);
    }
    this.known = now;
  }
}
