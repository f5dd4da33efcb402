import { AmiMessage, eventName, field } from '../ami/ami-message';

/** Device states that mean "a phone is registered and can be rung". */
const REACHABLE = new Set(['NOT_INUSE', 'INUSE', 'BUSY', 'RINGING', 'RINGINUSE', 'ONHOLD']);

export const isReachableState = (state: string | undefined) => REACHABLE.has(state ?? '');

/**
 * Device states (`PJSIP/<user>` → NOT_INUSE / UNAVAILABLE / …) from DeviceStateChange events,
 * rebuilt after every (re)connect from DeviceStateList: the list's items and the live changes
 * that arrive meanwhile go into a fresh map that replaces the old one when the list completes,
 * so devices Asterisk forgot while we were away do not linger. Pure: fed AMI messages in order.
 */
export class DeviceStates {
  private states = new Map<string, string>();
  private next?: { actionId: string; states: Map<string, string> };
  private synced = false;
  private waiters: Array<() => void> = [];

  /** DeviceStateList was sent with this ActionID after a (re)connect. */
  beginResync(actionId: string): void {
    this.next = { actionId, states: new Map() };
    this.synced = false;
  }

  /** The connection dropped: states are unknown until the next resync completes. */
  invalidate(): void {
    this.next = undefined;
    this.synced = false;
  }

  get isSynced(): boolean {
    return this.synced;
  }

  handle(message: AmiMessage): void {
    const name = eventName(message);
    if (name === 'devicestatechange') {
      const device = field(message, 'device');
      const state = field(message, 'state');
      if (!device) return;
      this.states.set(device, state);
      this.next?.states.set(device, state);
    } else if (name === 'devicestatelistcomplete' && this.next && field(message, 'actionid') === this.next.actionId) {
      this.states = this.next.states;
      this.next = undefined;
      this.synced = true;
      for (const wake of this.waiters.splice(0)) wake();
    }
  }

  stateOf(device: string): string | undefined {
    return this.states.get(device);
  }

  /** Known and in a state that can take a call; unknown devices (never registered) are not. */
  isReachable(device: string): boolean {
    return REACHABLE.has(this.states.get(device) ?? '');
  }

  /** Resolves true once synced, false after `timeoutMs`. */
  whenSynced(timeoutMs: number): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== wake);
        resolve(false);
      }, timeoutMs);
      this.waiters.push(wake);
    });
  }
}
