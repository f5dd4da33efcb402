import type { NatsConnection } from '@nats-io/nats-core';
import type { ConsumerMessages } from '@nats-io/jetstream';
import { isAway, settledWithin } from './jetstream';

/**
 * The pull a consumer loop is reading, so that its shutdown can end it. A pull ends by itself within
 * its expiry while the server answers; with NATS away nothing ends it, and the loop — and with it the
 * process — never stopped (Kubernetes killed it after its grace). What an ended pull held and did not
 * acknowledge is delivered again after the consumer's ack_wait.
 */
export class PullInProgress {
  private current?: ConsumerMessages;

  /** The pull the loop reads now. */
  track(messages: ConsumerMessages): ConsumerMessages {
    this.current = messages;
    return messages;
  }

  /**
   * Waits for the stopping loop: `graceMs` for its pull to end by itself (none while the
   * connection's server is away), then ends the pull and waits for the loop's last batch.
   */
  async stop(loop: Promise<void> | undefined, nc: NatsConnection, graceMs: number): Promise<void> {
    if (!loop) return;
    if (!(await settledWithin(loop, isAway(nc) ? 0 : graceMs))) this.current?.stop();
    await loop;
  }
}
