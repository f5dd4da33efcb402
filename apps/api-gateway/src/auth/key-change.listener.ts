import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { connectNats, NatsConnection } from '@ringcloud/nest-nats';
import { UsersApiKeyChanged } from '@ringcloud/contracts-users';
import { GatewayConfig } from '../config';
import { GATEWAY_CONFIG } from '../tokens';
import { ApiKeyAuthenticator } from './api-key.authenticator';

const RETRY_MS = 1000;

/**
 * Drops cached key verifications the moment users-service broadcasts UsersApiKeyChanged. A plain
 * subscription, not a queue group: every gateway replica must hear it. The gateway starts without
 * NATS (it answers 503 meanwhile) and keeps trying to connect; after a reconnect the whole cache is
 * dropped, since broadcasts sent while disconnected are lost.
 */
@Injectable()
export class KeyChangeListener implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(KeyChangeListener.name);
  private nc: NatsConnection | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private subscribed!: Promise<void>;
  private markSubscribed!: () => void;

  constructor(
    private readonly authenticator: ApiKeyAuthenticator,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {
    this.subscribed = new Promise((resolve) => (this.markSubscribed = resolve));
  }

  onModuleInit(): void {
    void this.connect();
  }

  /** Resolves once the subscription is registered with the server (or after `timeoutMs`: false). */
  async waitUntilSubscribed(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    try {
      return await Promise.race([this.subscribed.then(() => true), timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** NATS round trip within `timeoutMs` (readiness). */
  async ping(timeoutMs: number): Promise<void> {
    const nc = this.nc;
    if (!nc || nc.isClosed()) throw new Error('not connected');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), timeoutMs)));
    try {
      await Promise.race([nc.flush(), timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    await this.nc?.close().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    let nc: NatsConnection;
    try {
      nc = await connectNats(this.config.NATS_URL, 'api-gateway-key-events');
    } catch (err) {
      this.logger.warn(`NATS unreachable (${(err as Error).message}); key-change events off, retrying`);
      this.retryTimer = setTimeout(() => void this.connect(), RETRY_MS);
      return;
    }
    if (this.stopped) return void nc.close().catch(() => undefined);
    this.nc = nc;
    nc.subscribe(UsersApiKeyChanged.subject, {
      callback: (err, msg) => {
        if (!err) this.onChanged(msg.data);
      },
    });
    void this.watchStatus(nc);
    await nc.flush().catch(() => undefined);
    this.markSubscribed();
    // A connection that gives up (it should not: reconnects are unlimited) is replaced.
    void nc.closed().then(() => {
      if (this.stopped || this.nc !== nc) return;
      this.nc = undefined;
      this.authenticator.cache.clear();
      void this.connect();
    });
  }

  private onChanged(data: Uint8Array): void {
    const apiKey = readApiKey(data);
    // An unreadable event still means "something changed": forgetting everything is the safe side.
    if (apiKey === undefined) this.authenticator.cache.clear();
    else this.authenticator.cache.invalidate(apiKey);
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (status.type === 'reconnect') this.authenticator.cache.clear();
    }
  }
}

/**
 * The event's api_key: a plain `{"api_key"}` payload, or the `{"pattern","data":{"api_key"}}` packet
 * that Nest's ClientProxy.emit sends.
 */
export function readApiKey(data: Uint8Array): string | undefined {
  try {
    const parsed = JSON.parse(new TextDecoder().decode(data)) as any;
    const payload = parsed && typeof parsed === 'object' && 'data' in parsed && 'pattern' in parsed ? parsed.data : parsed;
    const result = UsersApiKeyChanged.event.safeParse(payload);
    return result.success ? result.data.api_key : undefined;
  } catch {
    return undefined;
  }
}
