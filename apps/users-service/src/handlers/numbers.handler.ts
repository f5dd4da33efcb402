import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { Command } from '@ringcloud/nest-nats';
import { UsersNumberAssign, UsersNumberList, UsersNumberListPage, UsersNumberReassign, UsersNumberRelease } from '@ringcloud/contracts-users';
import { NumbersService } from '../numbers/numbers.service';

/** NATS commands on inbound numbers: decode (validated by @Command), delegate, answer. */
@Controller()
export class NumbersHandler {
  constructor(private readonly numbers: NumbersService) {}

  @Command(UsersNumberList.contract)
  list(@Payload() req: UsersNumberList.Request): Promise<UsersNumberList.Response> {
    return this.numbers.list(req.account_id);
  }

  @Command(UsersNumberListPage.contract)
  listPage(@Payload() req: UsersNumberListPage.Request): Promise<UsersNumberListPage.Response> {
    return this.numbers.listPage(req.account_id, req.page);
  }

  @Command(UsersNumberAssign.contract)
  assign(@Payload() req: UsersNumberAssign.Request): Promise<UsersNumberAssign.Response> {
    return this.numbers.assign(req);
  }

  @Command(UsersNumberReassign.contract)
  reassign(@Payload() req: UsersNumberReassign.Request): Promise<UsersNumberReassign.Response> {
    return this.numbers.reassign(req);
  }

  @Command(UsersNumberRelease.contract)
  release(@Payload() req: UsersNumberRelease.Request): Promise<UsersNumberRelease.Response> {
    return this.numbers.release(req.number);
  }
}
