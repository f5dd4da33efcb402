import { OutboxSignal, OutboxSql, OutboxStore, outboxIdFor } from '@ringcloud/nest-outbox';
import { EVENT_CONTRACTS, TelephonyDomainEvent } from './domain-events';
import { EventSpill } from './event-publisher';

/**
 * The publisher's spill: telephony events that could not wait in memory are written to the
 * adapter's outbox (`outbox_events`), which the relay publishes once NATS takes them — after a
 * restart too. The row id derives from the event_id, so an event kept twice is one row.
 */
export class EventOutbox implements EventSpill {
  constructor(
    private readonly db: OutboxSql,
    private readonly store: OutboxStore,
    private readonly relay: OutboxSignal,
  ) {}

  async keep(events: readonly TelephonyDomainEvent[]): Promise<void> {
    await this.store.appendAll(
      this.db,
      events.map((e) => ({ id: outboxIdFor(e.payload.event_id), subject: EVENT_CONTRACTS[e.kind].subject, payload: e.payload })),
    );
    this.relay.eventsWritten();
  }
}
