import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { Command } from '@ringcloud/nest-nats';
import { WebhooksHealthPing } from '@ringcloud/contracts-webhooks';
import { Resources } from '../infra/resources';

/** Readiness over NATS: answering proves the process, its subscription and its database are up. */
@Controller()
export class HealthHandler {
  constructor(private readonly resources: Resources) {}

  @Command(WebhooksHealthPing.contract)
  async ping(@Payload() _req: object): Promise<{ status: 'ok' }> {
    await this.resources.checkDatabase();
    return { status: 'ok' };
  }
}
