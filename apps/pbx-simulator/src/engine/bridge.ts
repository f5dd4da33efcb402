import { randomUUID } from 'node:crypto';
import type { Channel } from './channel';
import type { BridgeInfo } from './publisher';

/** A phone's blind transfer (REFER) of the party it talks to in a bridge: where that party goes. */
export interface BlindTransfer {
  transferer: Channel;
  transferee: Channel;
  context: string;
  exten: string;
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
