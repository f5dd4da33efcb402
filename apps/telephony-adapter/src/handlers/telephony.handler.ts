import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { Command } from '@ringcloud/nest-nats';
import { TelephonyChannelGet, TelephonyChannelList, TelephonyOriginate } from '@ringcloud/contracts-telephony';
import { ChannelsService } from '../channels/channels.service';
import { OriginateService } from '../originate/originate.service';

/** NATS commands: decode (validated by @Command), delegate, answer. */
@Controller()
export class TelephonyHandler {
  constructor(
    private readonly originates: OriginateService,
    private readonly channels: ChannelsService,
  ) {}

  @Command(TelephonyOriginate.contract)
  originate(@Payload() req: TelephonyOriginate.Request): Promise<TelephonyOriginate.Response> {
    return this.originates.originate(req);
  }

  @Command(TelephonyChannelList.contract)
  list(@Payload() req: TelephonyChannelList.Request): TelephonyChannelList.Response {
    return this.channels.list(req.account_id);
  }

  @Command(TelephonyChannelGet.contract)
  get(@Payload() req: TelephonyChannelGet.Request): TelephonyChannelGet.Response {
    return this.channels.get(req.account_id, req.channel);
  }
}
