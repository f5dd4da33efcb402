import { Controller } from '@nestjs/common';
import { Ctx, NatsContext, Payload } from '@nestjs/microservices';
import { DomainError } from '@ringcloud/contracts-common';
import { Command, requesterDeadline } from '@ringcloud/nest-nats';
import { Metrics } from '@ringcloud/nest-observability';
import { TelephonyChannelGet, TelephonyChannelList, TelephonyOriginate, TelephonyRegistrationList } from '@ringcloud/contracts-telephony';
import { ChannelsService } from '../channels/channels.service';
import { OriginateService } from '../originate/originate.service';
import { UserRegistrations } from '../users/user-registrations';

/** NATS commands: decode (validated by @Command), delegate, answer. */
@Controller()
export class TelephonyHandler {
  constructor(
    private readonly originates: OriginateService,
    private readonly channels: ChannelsService,
    private readonly registrations: UserRegistrations,
  ) {}

  @Command(TelephonyOriginate.contract)
  originate(@Payload() req: TelephonyOriginate.Request, @Ctx() ctx: NatsContext): Promise<TelephonyOriginate.Response> {
    const outcomes = Metrics.originateOutcomes();
    return this.originates.originate(req, { deadline: requesterDeadline(ctx.getHeaders()) }).then(
      (answer) => {
        outcomes.inc({ outcome: 'sent' });
        return answer;
      },
      (err: unknown) => {
        outcomes.inc({ outcome: err instanceof DomainError ? err.code : 'error' });
        throw err;
      },
    );
  }

  @Command(TelephonyChannelList.contract)
  list(@Payload() req: TelephonyChannelList.Request): TelephonyChannelList.Response {
    return this.channels.list(req.account_id);
  }

  @Command(TelephonyChannelGet.contract)
  get(@Payload() req: TelephonyChannelGet.Request): TelephonyChannelGet.Response {
    return this.channels.get(req.account_id, req.channel);
  }

  @Command(TelephonyRegistrationList.contract)
  registrationList(@Payload() req: TelephonyRegistrationList.Request): Promise<TelephonyRegistrationList.Response> {
    return this.registrations.list(req.account_id);
  }
}
