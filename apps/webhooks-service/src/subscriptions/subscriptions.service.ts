import { Inject, Injectable } from '@nestjs/common';
import { DomainError } from '@ringcloud/contracts-common';
import { Webhook, WebhookWithSecret, WebhooksCreate, WebhooksUpdate } from '@ringcloud/contracts-webhooks';
import { isRecordNotFound, lockByName } from '@ringcloud/nest-prisma';
import { requesterGaveUp, requesterWaits } from '@ringcloud/nest-nats';
import { SecretCipher } from '@ringcloud/secret-cipher';
import { AddressGuard, DestinationRefused } from '../delivery/address-guard';
import { PRISMA, Prisma, PrismaClient } from '../infra/database';
import { newSigningSecret, randomId } from '../infra/ids';

/** How long the secret before a rotation keeps signing too. */
export const PREVIOUS_SECRET_VALID_MS = 24 * 3600_000;
/** Subscriptions per account: enough for any CRM, small enough that fan-out stays cheap. */
export const MAX_SUBSCRIPTIONS_PER_ACCOUNT = 25;

type Row = {
  id: string;
  accountId: number;
  url: string;
  events: string[];
  enabled: boolean;
  description: string | null;
  disabledReason: string | null;
  createdAt: Date;
  updatedAt: Date;
};

export const NOT_FOUND = 'Webhook not found';

export function toWebhook(row: Row): Webhook {
  return {
    id: row.id,
    url: row.url,
    events: row.events,
    enabled: row.enabled,
    description: row.description,
    disabled_reason: row.disabledReason,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

/** Webhook subscriptions of an account: another account's id is simply not found. */
@Injectable()
export class SubscriptionsService {
  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    private readonly cipher: SecretCipher,
    private readonly guard: AddressGuard,
  ) {}

  /** `deadline`: the requester's; a create it no longer waits for is rolled back (its retry would make a second webhook). */
  async create(req: WebhooksCreate.Request, deadline?: number): Promise<WebhookWithSecret> {
    this.checkUrl(req.url);
    const id = randomId('wh');
    const secret = newSigningSecret();
    const row = await this.prisma.$transaction(async (tx) => {
      // One creator per account at a time, so concurrent creates cannot all pass the count.
      await lockByName(tx, `webhooks-of-account:${req.account_id}`);
      const count = await tx.subscription.count({ where: { accountId: req.account_id } });
      if (count >= MAX_SUBSCRIPTIONS_PER_ACCOUNT) throw DomainError.badRequest(`an account may have at most ${MAX_SUBSCRIPTIONS_PER_ACCOUNT} webhooks`);
      const created = await tx.subscription.create({
        data: {
          id,
          accountId: req.account_id,
          url: req.url,
          events: req.events,
          description: req.description ?? null,
          secret: this.cipher.encrypt(secret, id),
        },
      });
      if (!requesterWaits(deadline)) throw requesterGaveUp('the webhook was created');
      return created;
    });
    return { ...toWebhook(row), secret };
  }

  async list(accountId: number): Promise<Webhook[]> {
    const rows = await this.prisma.subscription.findMany({ where: { accountId }, orderBy: { createdAt: 'asc' } });
    return rows.map(toWebhook);
  }

  async get(accountId: number, id: string): Promise<Webhook> {
    return toWebhook(await this.find(accountId, id));
  }

  async update(req: WebhooksUpdate.Request): Promise<Webhook> {
    await this.find(req.account_id, req.webhook_id);
    if (req.url !== undefined) this.checkUrl(req.url);
    const row = await this.updateRow(req.webhook_id, {
      ...(req.url !== undefined ? { url: req.url } : {}),
      ...(req.events !== undefined ? { events: req.events } : {}),
      ...(req.description !== undefined ? { description: req.description } : {}),
      // Enabling clears the reason the service disabled it; disabling by hand has no reason.
      ...(req.enabled !== undefined ? { enabled: req.enabled, disabledReason: null } : {}),
    });
    return toWebhook(row);
  }

  /** Deleting also drops its deliveries (pending ones are never sent). */
  async delete(accountId: number, id: string): Promise<null> {
    const { count } = await this.prisma.subscription.deleteMany({ where: { id, accountId } });
    if (!count) throw DomainError.notFound(NOT_FOUND);
    return null;
  }

  /** A new secret; the current one becomes the previous one and signs too for PREVIOUS_SECRET_VALID_MS. */
  async rotateSecret(accountId: number, id: string): Promise<WebhookWithSecret> {
    const current = await this.find(accountId, id);
    const secret = newSigningSecret();
    const row = await this.updateRow(id, {
      secret: this.cipher.encrypt(secret, id),
      previousSecret: current.secret,
      previousSecretUntil: new Date(Date.now() + PREVIOUS_SECRET_VALID_MS),
    });
    return { ...toWebhook(row), secret };
  }

  /** Updates a webhook read a moment ago: NOT_FOUND if a delete won the race since (not Prisma's P2025). */
  private async updateRow(id: string, data: Prisma.SubscriptionUpdateInput) {
    try {
      return await this.prisma.subscription.update({ where: { id }, data });
    } catch (err) {
      if (isRecordNotFound(err)) throw DomainError.notFound(NOT_FOUND);
      throw err;
    }
  }

  private async find(accountId: number, id: string) {
    const row = await this.prisma.subscription.findFirst({ where: { id, accountId } });
    if (!row) throw DomainError.notFound(NOT_FOUND);
    return row;
  }

  private checkUrl(url: string): void {
    try {
      this.guard.checkStatically(url);
    } catch (err) {
      if (err instanceof DestinationRefused) throw DomainError.badRequest(err.message);
      throw err;
    }
  }
}
