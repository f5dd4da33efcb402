import { Logger } from '@nestjs/common';
import { ServerNats } from '@nestjs/microservices';
import type { Msg, NatsConnection, Subscription } from '@nats-io/nats-core';
import { Metrics, REQUEST_ID_HEADER, withRequestId } from '@ringcloud/nest-observability';
import { DEADLINE_HEADER, msPastDeadline } from './deadline';
import { drainOrClose, settledWithin } from './jetstream';

/**
 * Nest's NATS server, plus what a rolling update needs:
 * - each message is handled with the caller's request id as correlation id (logs, onward requests);
 * - a request received after its deadline (DEADLINE_HEADER) is dropped: its requester has answered
 *   its client with an error already, so acting on it now would do what the client was told failed;
 * - close() stops the queue subscriptions first (new requests go to the other replicas), waits
 *   for the requests in progress to publish their replies, then drains the connection — Nest's own
 *   close() would drop those replies and the callers would wait for their timeout.
 */
export class DrainingNatsServer extends ServerNats {
  private readonly inFlight = new Map<Msg, () => void>();
  private idle?: () => void;
  private connected = false;
  private closing = false;
  private readonly log = new Logger('NatsServer');

  constructor(
    options: ConstructorParameters<typeof ServerNats>[0],
    private readonly drainTimeoutMs = 10_000,
  ) {
    super(options);
    this._status$.subscribe((status) => (this.connected = status === 'connected'));
  }

  /** Connected to NATS and not shutting down. */
  get ready(): boolean {
    return this.connected && !this.closing;
  }

  override async handleMessage(channel: string, msg: Msg): Promise<void> {
    const requestId = msg.headers?.get(REQUEST_ID_HEADER) || undefined;
    const late = msPastDeadline(msg.headers?.get(DEADLINE_HEADER) || undefined);
    if (late !== undefined) {
      // No handler, no reply: nobody waits for it (the subject only; the payload may hold personal data).
      withRequestId(requestId, () => this.log.warn(`${channel} dropped: received ${late} ms after its requester gave up`));
      return;
    }
    const done = this.track(msg);
    Metrics.natsHandled().inc({ subject: channel });
    try {
      await withRequestId(requestId, () => {
        // At debug level every request leaves a line with its correlation id (req_id).
        this.log.debug(`${channel} received`);
        return super.handleMessage(channel, msg);
      });
    } finally {
      // Requests end when their last reply is published (getPublisher); anything else ends here.
      if (!msg.reply) done();
    }
  }

  override getPublisher(msg: Msg, id: string, ctx: any): (response: any) => any {
    const publish = super.getPublisher(msg, id, ctx);
    return (response: any) => {
      try {
        return publish(response);
      } finally {
        if (response?.isDisposed) this.inFlight.get(msg)?.();
      }
    };
  }

  override async close(): Promise<void> {
    // Nest keeps these private; they are its connection and its queue subscriptions.
    const internals = this as unknown as { natsClient: NatsConnection | null; subscriptions: Subscription[] };
    const nc = internals.natsClient;
    if (!nc) return;
    this.closing = true;
    if (!this.connected) {
      // NATS is away: nothing can be drained or answered.
      await nc.close().catch(() => undefined);
      internals.natsClient = null;
      return;
    }
    // Draining a subscription waits for the server: if NATS goes away meanwhile, stop waiting after a while.
    await settledWithin(Promise.all(internals.subscriptions.map((sub) => sub.drain().catch(() => undefined))), 5000);
    if (this.inFlight.size > 0) {
      const finished = new Promise<void>((resolve) => (this.idle = resolve));
      const timer = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), this.drainTimeoutMs).unref());
      if ((await Promise.race([finished.then(() => true), timer])) === false) {
        this.log.warn(`${this.inFlight.size} NATS requests still in progress after ${this.drainTimeoutMs} ms; closing anyway`);
      }
    }
    await drainOrClose(nc);
    internals.natsClient = null;
  }

  private track(msg: Msg): () => void {
    // Replies that never come (handler error before its stream) still end: the timer is a backstop.
    const backstop = setTimeout(() => done(), this.drainTimeoutMs).unref();
    const done = () => {
      clearTimeout(backstop);
      if (!this.inFlight.delete(msg)) return;
      if (this.inFlight.size === 0) this.idle?.();
    };
    this.inFlight.set(msg, done);
    return done;
  }
}
