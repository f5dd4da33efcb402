import { randomUUID } from 'node:crypto';
import type { Channel } from './channel';
import type { BridgeInfo } from './publisher';

/** A phone's blind transfer (REFER) of the party it talks to in a bridge: where that party goes. */
export interface BlindTransfer {
  transferer: Channel;
  transferee: Channel;
  context: string;
  exten: string;
  /** The REFER's Referred-By, as the phone wrote it (`<sip:<user>@<host>>`; the lab's SIPp phone left the host out). */
  referredBy: string;
}

/**
 * A phone's attended transfer (a REFER with Replaces) as one of the two bridges it touches sees it:
 * `transferee` (in the first bridge, with `transferer`) is moved into the second bridge in place of
 * the phone's consultation channel, next to `target`. `moved` resolves once the transferee has
 * left that bridge again (a hangup).
 */
export interface AttendedMove {
  transferee: Channel;
  target: Channel;
  moved: Promise<void>;
}

/** A basic two-party bridge (BridgeType basic; simple_bridge technology, or native_rtp once switched). */
export class Bridge implements BridgeInfo {
  readonly id = randomUUID();
  readonly members: Channel[] = [];
  technology = 'simple_bridge';
  /**
   * Set by whoever runs the bridge and can carry a transfer out (a Dial()'s bridge): the bridge
   * ends with the transferee leaving first. false (or unset): this party cannot be transferred.
   */
  onTransfer?: (t: BlindTransfer) => boolean;
  /**
   * Set by whoever runs the bridge (a Dial()'s bridge): an attended transfer took the bridge over
   * (everything it published is done); the runner stops waiting and goes on (AttendedMove).
   */
  onAttended?: (m: AttendedMove) => void;
  /** The channel whose dial plan runs this bridge (a Dial's caller); the other member has none of its own. */
  owner?: Channel;

  get numChannels(): number {
    return this.members.length;
  }

  add(ch: Channel): void {
    this.members.push(ch);
    ch.bridge = this;
  }

  /** The member `ch` talks to (a two-party bridge). */
  peerOf(ch: Channel): Channel | undefined {
    return this.members.find((m) => m !== ch);
  }

  remove(ch: Channel): void {
    const i = this.members.indexOf(ch);
    if (i >= 0) this.members.splice(i, 1);
    ch.bridge = undefined;
  }
}
