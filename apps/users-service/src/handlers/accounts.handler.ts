import { Controller } from '@nestjs/common';
import { Ctx, NatsContext, Payload } from '@nestjs/microservices';
import { Command, requesterDeadline } from '@ringcloud/nest-nats';
import { UsersAccountCreate, UsersAccountList, UsersAccountListPage } from '@ringcloud/contracts-users';
import { AccountsService } from '../accounts/accounts.service';

@Controller()
export class AccountsHandler {
  constructor(private readonly accounts: AccountsService) {}

  @Command(UsersAccountCreate.contract)
  create(@Payload() req: UsersAccountCreate.Request, @Ctx() ctx: NatsContext): Promise<UsersAccountCreate.Response> {
    return this.accounts.create(req, requesterDeadline(ctx.getHeaders()));
  }

  @Command(UsersAccountList.contract)
  list(@Payload() _req: UsersAccountList.Request): Promise<UsersAccountList.Response> {
    return this.accounts.list();
  }

  @Command(UsersAccountListPage.contract)
  listPage(@Payload() req: UsersAccountListPage.Request): Promise<UsersAccountListPage.Response> {
    return this.accounts.listPage(req.page);
  }
}
