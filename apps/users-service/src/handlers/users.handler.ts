import { Controller } from '@nestjs/common';
import { Ctx, NatsContext, Payload } from '@nestjs/microservices';
import { Command, requesterDeadline } from '@ringcloud/nest-nats';
import {
  UsersUserCreate,
  UsersUserDelete,
  UsersUserGet,
  UsersUserList,
  UsersUserListPage,
  UsersUserSetVoicemail,
  UsersUserUpdateEmail,
  UsersUserUpdateExtension,
  UsersUserUpdatePassword,
} from '@ringcloud/contracts-users';
import { UsersService } from '../users/users.service';

/** NATS commands on users: decode (validated by @Command), delegate, answer. */
@Controller()
export class UsersHandler {
  constructor(private readonly users: UsersService) {}

  @Command(UsersUserList.contract)
  list(@Payload() req: UsersUserList.Request): Promise<UsersUserList.Response> {
    return this.users.list(req.account_id, req.include_password);
  }

  @Command(UsersUserListPage.contract)
  listPage(@Payload() req: UsersUserListPage.Request): Promise<UsersUserListPage.Response> {
    return this.users.listPage(req.account_id, req.include_password, req.page);
  }

  @Command(UsersUserGet.contract)
  get(@Payload() req: UsersUserGet.Request): Promise<UsersUserGet.Response> {
    return this.users.get(req.account_id, req.user, req.include_password);
  }

  @Command(UsersUserCreate.contract)
  create(@Payload() req: UsersUserCreate.Request, @Ctx() ctx: NatsContext): Promise<UsersUserCreate.Response> {
    return this.users.create(req, requesterDeadline(ctx.getHeaders()));
  }

  @Command(UsersUserDelete.contract)
  delete(@Payload() req: UsersUserDelete.Request): Promise<UsersUserDelete.Response> {
    return this.users.delete(req.account_id, req.user);
  }

  @Command(UsersUserUpdatePassword.contract)
  updatePassword(@Payload() req: UsersUserUpdatePassword.Request): Promise<UsersUserUpdatePassword.Response> {
    return this.users.update(req.account_id, req.user, { password: req.password });
  }

  @Command(UsersUserUpdateExtension.contract)
  updateExtension(@Payload() req: UsersUserUpdateExtension.Request): Promise<UsersUserUpdateExtension.Response> {
    return this.users.update(req.account_id, req.user, { num: req.num });
  }

  @Command(UsersUserUpdateEmail.contract)
  updateEmail(@Payload() req: UsersUserUpdateEmail.Request): Promise<UsersUserUpdateEmail.Response> {
    return this.users.update(req.account_id, req.user, { mail: req.mail });
  }

  @Command(UsersUserSetVoicemail.contract)
  setVoicemail(@Payload() req: UsersUserSetVoicemail.Request): Promise<UsersUserSetVoicemail.Response> {
    return this.users.update(req.account_id, req.user, { voicemail: req.enabled });
  }
}
