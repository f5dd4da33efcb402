import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Metrics } from '@ringcloud/nest-observability';
import { SecretCipher } from '@ringcloud/secret-cipher';
import { WEBHOOKS_CONFIG, WebhooksConfig } from '../config/webhooks-config';
import { DeliveriesRepository, Head, Outcome } from './deliveries.repository';
import { HttpSender } from './http-sender';
import { nextWait } from './retry-schedule';
import { standardWebhookHeaders } from './signature';

/** Extra lease time beyond one attempt's timeout (the database writes around it). */
const LEASE_MARGIN_MS = 20_000;
const BACKLOG_SAMPLE_MS = 10_000;

/**
 * Sends deliveries. Each subscription is a lane: the replica that leased it sends its oldest
 * pending delivery, waits for the outcome, then the next — one attempt in flight per
 * subscription, in event order — while up to WEBHOOKS_CONCURRENCY lanes run side by side, so a
 * slow or dead receiver only ever holds up its own subscription.
 *
 * Lanes are claimed when the consumer stored new deliveries (wake) and every WEBHOOKS_POLL_MS
 * (retries that fell due, other replicas' events, leases of a replica that died). All state is in
 * PostgreSQL: a restarted replica simply claims what is due.
 */
@Injectable()
export class Dispatcher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Dispatcher');
  readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private readonly lanes = new Map<string, Promise<void>>();
  private stopping = false;
  private loop?: Promise<void>;
  private wakeUp?: () => void;
  private pendingWake = false;
  private backlogTimer?: NodeJS.Timeout;
  private readonly leaseMs: number;
  private readonly delivered = Metrics.webhookDeliveries();
  private readonly duration = Metrics.webhookAttemptDuration();

  constructor(
    @Inject(WEBHOOKS_CONFIG) private readonly config: WebhooksConfig,
    private readonly repository: DeliveriesRepository,
    private readonly sender: HttpSender,
    private readonly cipher: SecretCipher,
  ) {
    this.leaseMs = config.timeoutMs + LEASE_MARGIN_MS;
  }

  onApplicationBootstrap(): void {
    this.loop = this.run();
    this.backlogTimer = setInterval(() => void this.sampleBacklog(), BACKLOG_SAMPLE_MS);
    this.backlogTimer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearInterval(this.backlogTimer);
    this.wakeUp?.();
    await this.loop;
    // Attempts in flight finish (bounded by the attempt timeout) and their outcomes are stored.
    await Promise.all(this.lanes.values());
    await this.repository.releaseAll(this.owner).catch(() => undefined);
  }

  /** New deliveries may be due: claim now rather than at the next poll. */
  wake(): void {
    this.pendingWake = true;
    this.wakeUp?.();
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      this.pendingWake = false;
      try {
        await this.claim();
        if (failures) this.logger.log('delivering webhooks again');
        failures = 0;
      } catch (err) {
        if (failures++ === 0) this.logger.warn(`cannot claim deliveries: ${(err as Error).message}`);
      }
      if (this.stopping) break;
      if (this.pendingWake) continue;
      await this.sleep(failures ? Math.min(this.config.pollMs * 2 ** failures, 5000) : this.config.pollMs);
    }
  }

  private async claim(): Promise<void> {
    const free = this.config.concurrency - this.lanes.size;
    if (free <= 0) return;
    const ids = await this.repository.claim(this.owner, this.leaseMs, free);
    for (const id of ids) {
      const lane = this.runLane(id).finally(() => {
        this.lanes.delete(id);
        // Work stored while this lane was ending was not claimable then: look again.
        if (!this.stopping) this.wake();
      });
      this.lanes.set(id, lane);
    }
  }

  /** Delivers a subscription's due deliveries one after the other, then hands the lease back. */
  private async runLane(subscriptionId: string): Promise<void> {
    try {
      while (!this.stopping) {
        const head = await this.repository.renewAndHead(subscriptionId, this.owner, this.leaseMs);
        if (!head?.delivery || !head.delivery.due || !head.enabled) break;
        const outcome = await this.attempt(head);
        await this.repository.record(subscriptionId, head.delivery.id, outcome);
      }
    } catch (err) {
      this.logger.warn(`delivering to subscription ${subscriptionId} failed: ${(err as Error).message}`);
    } finally {
      await this.repository.release(subscriptionId, this.owner).catch(() => undefined);
    }
  }

  private async attempt(head: Head): Promise<Outcome> {
    const delivery = head.delivery!;
    const secrets = [this.cipher.decrypt(head.secret, head.subscriptionId)];
    if (head.previousSecret && head.previousSecretUntil && head.previousSecretUntil.getTime() > Date.now()) {
      secrets.push(this.cipher.decrypt(head.previousSecret, head.subscriptionId));
    }
    const headers = standardWebhookHeaders(secrets, delivery.eventId, Math.floor(Date.now() / 1000), delivery.body);
    const result = await this.sender.post(head.url, headers, delivery.body);
    const { status, latencyMs } = result;
    let outcome: Outcome;
    if (status !== undefined && status >= 200 && status < 300) outcome = { kind: 'delivered', status, latencyMs };
    else if (status === 410) {
      outcome = { kind: 'failed', status, latencyMs, error: 'HTTP 410', disableReason: 'the receiver answered 410 Gone' };
    } else {
      const error = result.error ?? `HTTP ${status}`;
      const waitMs = nextWait(this.config.retryScheduleMs, delivery.step);
      outcome =
        waitMs === undefined
          ? { kind: 'failed', status, latencyMs, error, disableReason: `gave up after ${delivery.attempts + 1} failed attempts (last: ${error})` }
          : { kind: 'retry', status, latencyMs, error, waitMs };
    }
    const label = outcome.kind === 'delivered' ? 'delivered' : status === 410 ? 'gone' : outcome.kind === 'failed' ? 'gave_up' : result.refused ? 'refused' : 'retry';
    this.delivered.inc({ outcome: label });
    this.duration.observe({ outcome: label }, latencyMs / 1000);
    return outcome;
  }

  private async sampleBacklog(): Promise<void> {
    try {
      const gauge = Metrics.webhookBacklog();
      gauge.reset();
      for (const row of await this.repository.backlog()) gauge.set({ subscription: row.subscription_id }, row.pending);
    } catch {
      // database away: keep trying on the next tick
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
  }
}
