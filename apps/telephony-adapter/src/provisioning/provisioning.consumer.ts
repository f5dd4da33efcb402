import type { NatsConnection } from '@nats-io/nats-core';
import { ConsumerMessages, JsMsg, jetstream } from '@nats-io/jetstream';
import { firstIssueMessage } from '@ringcloud/contracts-common';
import {
  NumberRouting,
  USERS_EVENTS_STREAM,
  UserDeprovisioning,
  UserProvisioning,
  UsersNumberAssigned,
  UsersNumberReleased,
  UsersUserDeleted,
} from '@ringcloud/contracts-users';
import { ensureDurableConsumer, ensureStream } from '@ringcloud/nest-nats';
import { isDatabaseUnavailable } from '../infra/database';

/** What the consumer applies: users' states, deleted users and inbound numbers' routes. */
export interface ProvisioningHandlers {
  user(event: UserProvisioning): Promise<{ status: string }>;
  userDeleted(event: UserDeprovisioning): Promise<{ status: string }>;
  number(event: NumberRouting): Promise<{ status: string }>;
}

export const PROVISIONING_CONSUMER = 'telephony-adapter-provisioning';

export interface ProvisioningLogger {
  log(m: string): void;
  warn(m: string): void;
  error(m: string): void;
  debug?(m: string): void;
}

/**
 * The durable JetStream consumer of USERS_EVENTS that provisions the PBX. One message in flight
 * (max_ack_pending 1) keeps the stream's order; a message is acked only after its transaction
 * committed, so a crash or a database outage means redelivery, never a lost change. Replicas
 * share the durable consumer: each event is applied once, by one of them.
 */
export class ProvisioningConsumer {
  private messages?: ConsumerMessages;
  private stopped = false;
  private loop?: Promise<void>;

  constructor(
    private readonly nc: NatsConnection,
    private readonly handlers: ProvisioningHandlers,
    private readonly logger: ProvisioningLogger,
    private readonly options: { retryMs?: number; ackWaitMs?: number } = {},
  ) {}

  async start(): Promise<void> {
    this.stopped = false;
    await this.ensureConsumer();
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.messages?.close().catch(() => undefined);
    await this.loop;
  }

  private async ensureConsumer(): Promise<void> {
    await ensureStream(this.nc, USERS_EVENTS_STREAM);
    // One at a time, in order (max_ack_pending 1); redelivered without limit (max_deliver's default, -1).
    await ensureDurableConsumer(this.nc, USERS_EVENTS_STREAM.name, PROVISIONING_CONSUMER, {
      max_ack_pending: 1,
      ack_wait: (this.options.ackWaitMs ?? 30_000) * 1_000_000,
    });
  }

  private async run(): Promise<void> {
    const js = jetstream(this.nc);
    while (!this.stopped) {
      try {
        const consumer = await js.consumers.get(USERS_EVENTS_STREAM.name, PROVISIONING_CONSUMER);
        this.messages = await consumer.consume({ max_messages: 1 });
        for await (const message of this.messages) {
          await this.handle(message);
          if (this.stopped) break;
        }
      } catch (err) {
        if (this.stopped) break;
        this.logger.warn(`provisioning consumer interrupted: ${firstLine(err)}; resuming`);
        // The consumer may have been deleted (or the stream reset): recreate it before resuming.
        await this.ensureConsumer().catch(() => undefined);
      }
      if (!this.stopped) await new Promise((r) => setTimeout(r, this.options.retryMs ?? 1000));
    }
  }

  private async handle(message: JsMsg): Promise<void> {
    let payload: unknown;
    try {
      payload = message.json();
    } catch {
      payload = undefined;
    }
    const kind = message.subject === UsersNumberAssigned.subject || message.subject === UsersNumberReleased.subject
      ? 'number'
      : message.subject === UsersUserDeleted.subject
        ? 'userDeleted'
        : 'user';
    const parsed = (kind === 'number' ? NumberRouting : kind === 'userDeleted' ? UserDeprovisioning : UserProvisioning).safeParse(payload);
    if (!parsed.success) {
      // Redelivering it would block every later event behind it.
      this.logger.error(`provisioning event #${message.seq} on ${message.subject} is malformed (${firstIssueMessage(parsed.error)}); skipped`);
      message.term(); // no reason text: nats-server < 2.10 ignores a +TERM that carries one
      return;
    }
    const what = kind === 'number' ? `number ${(parsed.data as NumberRouting).number}` : `user ${(parsed.data as UserProvisioning).user}`;
    try {
      const result =
        kind === 'number'
          ? await this.handlers.number(parsed.data as NumberRouting)
          : kind === 'userDeleted'
            ? await this.handlers.userDeleted(parsed.data as UserDeprovisioning)
            : await this.handlers.user(parsed.data as UserProvisioning);
      await message.ackAck().catch(() => message.ack());
      this.logger.debug?.(`${what} v${parsed.data.version} ${result.status}`);
    } catch (err) {
      const why = isDatabaseUnavailable(err) ? 'database unavailable' : firstLine(err);
      this.logger.warn(`provisioning ${what} v${parsed.data.version} failed (${why}); will retry`);
      message.nak(this.options.retryMs ?? 1000);
    }
  }
}

/** Prisma errors span many lines (with source excerpts): the last non-empty line says what happened. */
function firstLine(err: unknown): string {
  const lines = String((err as Error)?.message ?? err).split('\n').map((l) => l.trim()).filter(Boolean);
  return (lines.at(-1) ?? 'unknown error').slice(0, 300);
}
