import { randomUUID } from 'node:crypto';
import type { Channel } from './channel';
import type { BridgeInfo } from './publisher';

/** A basic two-party bridge (BridgeType basic; simple_bridge technology, or native_rtp once switched). */
export class Bridge implements BridgeInfo {
  readonly id = randomUUID();
  readonly members: Channel[] = [];
  technology = 'simple_bridge';

  get numChannels(): number {
    return this.members.length;
  }

  add(ch: Channel): void {
    this.members.push(ch);
    ch.bridge = this;
  }

  remove(ch: Channel): void {
    const i = this.members.indexOf(ch);
    if (i >= 0) this.members.splice(i, 1);
    ch.bridge = undefined;
  }
}
