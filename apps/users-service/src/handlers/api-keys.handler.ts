import { Controller } from '@nestjs/common';
import { Ctx, NatsContext, Payload } from '@nestjs/microservices';
import { Command, requesterDeadline } from '@ringcloud/nest-nats';
import {
  UsersApiKeyCreate,
  UsersApiKeyDelete,
  UsersApiKeyList,
  UsersApiKeyRegenerate,
  UsersApiKeySetEnabled,
  UsersApiKeyVerify,
} from '@ringcloud/contracts-users';
import { ApiKeysService } from '../api-keys/api-keys.service';

@Controller()
export class ApiKeysHandler {
  constructor(private readonly keys: ApiKeysService) {}

  @Command(UsersApiKeyVerify.contract)
  verify(@Payload() req: UsersApiKeyVerify.Request): Promise<UsersApiKeyVerify.Response> {
    return this.keys.verify(req);
  }

  @Command(UsersApiKeyCreate.contract)
  create(@Payload() req: UsersApiKeyCreate.Request, @Ctx() ctx: NatsContext): Promise<UsersApiKeyCreate.Response> {
    return this.keys.create(req, requesterDeadline(ctx.getHeaders()));
  }

  @Command(UsersApiKeyList.contract)
  list(@Payload() req: UsersApiKeyList.Request): Promise<UsersApiKeyList.Response> {
    return this.keys.list(req.account_id);
  }

  @Command(UsersApiKeySetEnabled.contract)
  setEnabled(@Payload() req: UsersApiKeySetEnabled.Request): Promise<UsersApiKeySetEnabled.Response> {
    return this.keys.setEnabled(req.api_key, req.enabled, req.account_id);
  }

  @Command(UsersApiKeyDelete.contract)
  delete(@Payload() req: UsersApiKeyDelete.Request): Promise<UsersApiKeyDelete.Response> {
    return this.keys.delete(req.api_key, req.account_id);
  }

  @Command(UsersApiKeyRegenerate.contract)
  regenerate(@Payload() req: UsersApiKeyRegenerate.Request, @Ctx() ctx: NatsContext): Promise<UsersApiKeyRegenerate.Response> {
    return this.keys.regenerate(req.api_key, req.account_id, requesterDeadline(ctx.getHeaders()));
  }
}
