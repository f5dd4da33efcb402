import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { Command } from '@ringcloud/nest-nats';
import { pageOf } from '@ringcloud/contracts-common';
import { UsersAccountCreate, UsersAccountList, UsersAccountListPage } from '@ringcloud/contracts-users';
import { AccountsService } from '../accounts/accounts.service';

@Controller()
export class AccountsHandler {
  constructor(private readonly accounts: AccountsService) {}

  @Command(UsersAccountCreate.contract)
  create(@Payload() req: UsersAccountCreate.Request): Promise<UsersAccountCreate.Response> {
    return this.accounts.create(req);
  }

  @Command(UsersAccountList.contract)
  list(@Payload() _req: UsersAccountList.Request): Promise<UsersAccountList.Response> {
    return this.accounts.list();
  }

  /** One page of `list` (ordered by account id). */
  @Command(UsersAccountListPage.contract)
  async listPage(@Payload() req: UsersAccountListPage.Request): Promise<UsersAccountListPage.Response> {
    return pageOf(await this.accounts.list(), req.page, (a) => [a.account_id]);
  }
}
