import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Metrics } from '@ringcloud/nest-observability';
import { SecretCipher } from '@ringcloud/secret-cipher';
import { WEBHOOKS_CONFIG, WebhooksConfig } from '../config/webhooks-config';
import { DeliveriesRepository, Delivered, Lane, Outcome, PendingDelivery } from './deliveries.repository';
import { HttpSender } from './http-sender';
import { nextWait } from './retry-schedule';
import { standardWebhookHeaders } from './signature';

/** Extra lease time beyond one attempt's timeout (the database writes around it). */
const LEASE_MARGIN_MS = 20_000;
const BACKLOG_SAMPLE_MS = 10_000;
/** Deliveries read per lease renewal; a run also ends LEASE_MARGIN_MS / 2 after the renewal. */
const RUN_LENGTH = 20;

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
  /** Bumped by wake(): a lane that ends looks whether deliveries arrived while it was finishing. */
  private wakes = 0;
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
    this.sender.close();
  }

  /** New deliveries may be due: claim now rather than at the next poll. */
  wake(): void {
    this.wakes++;
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
    const seen = this.wakes;
    const claimed = await this.repository.claim(this.owner, this.leaseMs, free, RUN_LENGTH);
    for (const first of claimed) {
      const id = first.subscriptionId;
      const lane: Promise<void> = this.runLane(first, seen).then((lastLook) => {
        // A lane that handed its lease back in the same statement may already have been claimed again.
        if (this.lanes.get(id) === lane) this.lanes.delete(id);
        // Deliveries stored after the lane's last look were not claimable while it held the lease: look again.
        if (!this.stopping && this.wakes !== lastLook) this.wake();
      });
      this.lanes.set(id, lane);
    }
  }

  /**
   * Delivers a subscription's due deliveries one after the other, starting with those read by the
   * claim, then hands the lease back. Runs of 2xx answers are recorded together, in the statement
   * that reads the next run (or hands the lease back when nothing more is due); a crash before that
   * sends them again: at least once. Any other outcome is recorded at once and ends the lane.
   * Returns the wake count as of the lane's last look at the database.
   */
  private async runLane(first: Lane, looked: number): Promise<number> {
    const { subscriptionId } = first;
    let lane: Lane | null = first;
    let held = true;
    const delivered: Delivered[] = [];
    try {
      while (lane?.enabled && lane.due.length && !this.stopping) {
        const renewedAt = performance.now();
        const secrets = this.secretsOf(lane);
        let failed = false;
        for (const delivery of lane.due) {
          // The lease must outlast the attempt: renew (next turn) before it could run out.
          if (this.stopping || performance.now() - renewedAt > LEASE_MARGIN_MS / 2) break;
          const outcome = await this.attempt(lane.url, secrets, delivery);
          if (outcome.kind === 'delivered') {
            delivered.push({ id: delivery.id, status: outcome.status, latencyMs: outcome.latencyMs, at: new Date() });
            continue;
          }
          await this.repository.recordDelivered(delivered.splice(0));
          await this.repository.record(subscriptionId, delivery.id, outcome);
          failed = true;
          break;
        }
        if (failed || this.stopping) break;
        looked = this.wakes;
        lane = await this.repository.finishRun(subscriptionId, this.owner, this.leaseMs, delivered, RUN_LENGTH);
        delivered.length = 0;
        // Nothing more due (or no longer this replica's): the statement handed the lease back.
        if (!lane?.due.length) held = false;
      }
    } catch (err) {
      this.logger.warn(`delivering to subscription ${subscriptionId} failed: ${(err as Error).message}`);
    } finally {
      await this.repository.recordDelivered(delivered).catch(() => undefined);
      if (held) await this.repository.release(subscriptionId, this.owner).catch(() => undefined);
    }
    return looked;
  }

  /** The signing secrets in force: the current one, and the previous one for a day after a rotation. */
  private secretsOf(lane: Lane): string[] {
    const secrets = [this.cipher.decrypt(lane.secret, lane.subscriptionId)];
    if (lane.previousSecret && lane.previousSecretUntil && lane.previousSecretUntil.getTime() > Date.now()) {
      secrets.push(this.cipher.decrypt(lane.previousSecret, lane.subscriptionId));
    }
    return secrets;
  }

  private async attempt(url: string, secrets: string[], delivery: PendingDelivery): Promise<Outcome> {
    const headers = standardWebhookHeaders(secrets, delivery.eventId, Math.floor(Date.now() / 1000), delivery.body);
    const result = await this.sender.post(url, headers, delivery.body);
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
