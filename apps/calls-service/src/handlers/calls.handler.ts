import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { Command } from '@ringcloud/nest-nats';
import { CallsActiveList, CallsCallGet, CallsCompleteList, CallsCompletePage, CallsOpenOnNode, CallsOriginate, CallsOriginateRecord } from '@ringcloud/contracts-calls';
import { CallsService } from '../calls/calls.service';
import { OriginateService } from '../originate/originate.service';

/** NATS commands on calls: decode (validated by @Command), delegate, answer. */
@Controller()
export class CallsHandler {
  constructor(
    private readonly originateService: OriginateService,
    private readonly calls: CallsService,
  ) {}

  @Command(CallsOriginate.contract)
  originate(@Payload() req: CallsOriginate.Request): Promise<CallsOriginate.Response> {
    return this.originateService.originate(req);
  }

  @Command(CallsOriginateRecord.contract)
  recordOriginate(@Payload() req: CallsOriginateRecord.Request): Promise<CallsOriginateRecord.Response> {
    return this.originateService.record(req);
  }

  @Command(CallsActiveList.contract)
  active(@Payload() req: CallsActiveList.Request): Promise<CallsActiveList.Response> {
    return this.calls.active(req.account_id);
  }

  @Command(CallsOpenOnNode.contract)
  openOnNode(@Payload() req: CallsOpenOnNode.Request): Promise<CallsOpenOnNode.Response> {
    return this.calls.openOnNode(req.node);
  }

  @Command(CallsCallGet.contract)
  get(@Payload() req: CallsCallGet.Request): Promise<CallsCallGet.Response> {
    return this.calls.get(req.account_id, req.call_id);
  }

  @Command(CallsCompleteList.contract)
  complete(@Payload() req: CallsCompleteList.Request): Promise<CallsCompleteList.Response> {
    return this.calls.completed(req);
  }

  @Command(CallsCompletePage.contract)
  completePage(@Payload() req: CallsCompletePage.Request): Promise<CallsCompletePage.Response> {
    return this.calls.completedPage(req);
  }
}
