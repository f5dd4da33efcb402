import { CRM_EVENTS_STREAM, CrmEvent, crmEventId, crmEventSubject } from '@ringcloud/contracts-events';
import { JetStreamClient, NatsConnection, connectNats, ensureStream, jetstream, publishDurable } from '@ringcloud/nest-nats';
import { WebhookReceiver } from './webhook-receiver';

/** Publishes CRM events to CRM_EVENTS exactly as the producers do (the producers' contract). */
export class CrmEventPublisher {
  private seq = 0;

  /** `idPrefix` keeps the fact ids (hence event ids) of different test files apart. */
  constructor(
    private readonly idPrefix: string,
    protected client?: JetStreamClient,
  ) {}

  /** For what a producer would not do (e.g. publishing without a msgID). */
  get js(): JetStreamClient {
    if (!this.client) throw new Error('not connected to NATS yet');
    return this.client;
  }

  /** A CRM event of `account` with an id no other event of the run has. */
  event(account: number, type: CrmEvent['type'], data: Record<string, unknown> = {}): CrmEvent {
    return {
      id: crmEventId(`${this.idPrefix}:${process.pid}:${Date.now()}:${++this.seq}`),
      type,
      timestamp: new Date().toISOString(),
      account_id: account,
      data,
    };
  }

  /** Publishes in order, each with its id as msgID (as the producers do); returns the events. */
  async publish(...events: CrmEvent[]): Promise<CrmEvent[]> {
    for (const event of events) await publishDurable(this.js, crmEventSubject(event.account_id), event, event.id);
    return events;
  }
}

/**
 * What webhook tests against a running stack need: a real HTTP receiver for the deliveries, and a
 * connection of their own publishing CRM events. The stream is ensured with its production
 * definition (a test may publish before webhooks-service has created it).
 */
export class CrmEventFeed extends CrmEventPublisher {
  /** Usable (e.g. `receiver.url(path)`) before start(); it listens once started. */
  readonly receiver = new WebhookReceiver();
  private nc?: NatsConnection;

  async start(natsUrl: string): Promise<this> {
    await this.receiver.start();
    this.nc = await connectNats(natsUrl, 'crm-event-feed');
    this.client = jetstream(this.nc);
    await ensureStream(this.nc, CRM_EVENTS_STREAM);
    return this;
  }

  async stop(): Promise<void> {
    await this.nc?.close();
    await this.receiver.stop();
  }
}
