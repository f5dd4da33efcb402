import { Logger } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/nats-core';
import { UsersApiKeyChanged } from '@ringcloud/contracts-users';

/**
 * Tells every gateway replica that a key changed so it drops cached verifications. Called after
 * the change is committed; best effort: the database stays the truth, gateways' cache TTL bounds
 * what a lost broadcast costs.
 */
export abstract class KeyChangeNotifier {
  abstract keyChanged(apiKey: string): Promise<void>;
}

/** Core NATS publish of UsersApiKeyChanged as plain JSON (Nest @EventPattern handlers accept it too). */
export class NatsKeyChangeNotifier extends KeyChangeNotifier {
  private readonly logger = new Logger('KeyChangeNotifier');

  constructor(private readonly nc: NatsConnection) {
    super();
  }

  async keyChanged(apiKey: string): Promise<void> {
    try {
      // While NATS reconnects the client buffers this publish and sends it on reconnect.
      this.nc.publish(UsersApiKeyChanged.subject, JSON.stringify(UsersApiKeyChanged.event.parse({ api_key: apiKey })));
    } catch (err) {
      // Never log the key itself: the account prefix is enough to find it.
      this.logger.warn(`could not broadcast a key change of account ${apiKey.split('_')[0]}: ${(err as Error).message}`);
    }
  }
}

export class NoopKeyChangeNotifier extends KeyChangeNotifier {
  async keyChanged(): Promise<void> {}
}
