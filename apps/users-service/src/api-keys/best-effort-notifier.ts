import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { KeyChangeNotifier, NatsKeyChangeNotifier } from './key-change-notifier';

/**
 * For tools that run while the stack may be down (the CLI): connects only when a key changed,
 * waits at most `timeoutMs`, and reports instead of failing when NATS is unreachable.
 */
export class BestEffortNatsNotifier extends KeyChangeNotifier {
  constructor(
    private readonly natsUrl: string,
    private readonly report: (line: string) => void,
    private readonly timeoutMs = 1500,
  ) {
    super();
  }

  async keyChanged(apiKey: string): Promise<void> {
    let nc: NatsConnection | undefined;
    try {
      const connection: NatsConnection = await connect({ servers: this.natsUrl, name: 'users-cli', timeout: this.timeoutMs, reconnect: false });
      nc = connection;
      await new NatsKeyChangeNotifier(connection).keyChanged(apiKey);
      await connection.flush();
    } catch {
      this.report(`NATS at ${this.natsUrl} is unreachable: gateways drop the cached key when their cache expires`);
    } finally {
      await nc?.close().catch(() => undefined);
    }
  }
}
