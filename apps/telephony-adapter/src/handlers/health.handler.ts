import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { Command } from '@ringcloud/nest-nats';
import { TelephonyHealthPing } from '@ringcloud/contracts-telephony';
import { AmiSession } from '../ami/ami-session';

/** Readiness over NATS: the process answers; `ami` tells whether the PBX session is logged in. */
@Controller()
export class HealthHandler {
  constructor(private readonly session: AmiSession) {}

  @Command(TelephonyHealthPing.contract)
  ping(@Payload() _req: object): { status: 'ok'; ami: boolean } {
    return { status: 'ok', ami: this.session.isReady };
  }
}
