import { Controller, INestMicroservice, Inject, Module } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { DomainError } from '@ringcloud/contracts-common';
import { TelephonyOriginate } from '@ringcloud/contracts-telephony';
import { UsersUserGet, V1User } from '@ringcloud/contracts-users';
import { Command, createNatsMicroservice } from '@ringcloud/nest-nats';

/**
 * Stand-ins for users-service and the telephony adapter, answering over the same private NATS the
 * way the real ones do (same contracts, same error filter), with behaviour a test can set.
 */
export class PeerState {
  readonly users = new Map<string, V1User>();
  readonly originates: TelephonyOriginate.Request[] = [];
  /** What the adapter answers next: queued (default), a DomainError, or a crash (INTERNAL). */
  originateFailure: DomainError | Error | null = null;
  /** Users users-service has and the adapter not yet ("account:user"): created a moment ago. */
  readonly unprovisioned = new Set<string>();

  addUser(account_id: number, user: string, num: string): V1User {
    const v1: V1User = { account_id, user, num, mail: `${user}@example.com`, voice_mail_box: 'off', password: null };
    this.users.set(`${account_id}:${user}`, v1);
    return v1;
  }
}

const STATE = Symbol('PEER_STATE');

@Controller()
class FakeUsersService {
  constructor(@Inject(STATE) private readonly state: PeerState) {}

  @Command(UsersUserGet.contract)
  get(@Payload() req: UsersUserGet.Request): V1User {
    const user = this.state.users.get(`${req.account_id}:${req.user}`);
    if (!user) throw DomainError.notFound('User not found');
    return { ...user, password: req.include_password ? 'Str0ngPass' : null };
  }
}

@Controller()
class FakeTelephonyAdapter {
  constructor(@Inject(STATE) private readonly state: PeerState) {}

  @Command(TelephonyOriginate.contract)
  originate(@Payload() req: TelephonyOriginate.Request): TelephonyOriginate.Response {
    if (this.state.originateFailure) throw this.state.originateFailure;
    // As the adapter: only users provisioned in the account, another tenant's refused the same way.
    const key = `${req.account_id}:${req.user}`;
    const user = this.state.unprovisioned.has(key) ? undefined : this.state.users.get(key);
    if (!user) throw DomainError.notFound(`Unknown user ${req.user}`);
    this.state.originates.push(req);
    return { call_id: req.call_id, action_id: `action-${this.state.originates.length}`, src: user.num };
  }
}

export async function startFakePeers(natsUrl: string, state: PeerState, which: Array<'users' | 'telephony'> = ['users', 'telephony']): Promise<INestMicroservice> {
  @Module({
    controllers: [...(which.includes('users') ? [FakeUsersService] : []), ...(which.includes('telephony') ? [FakeTelephonyAdapter] : [])],
    providers: [{ provide: STATE, useValue: state }],
  })
  class FakePeersModule {}
  const app = await createNatsMicroservice(FakePeersModule, { servers: natsUrl, queue: `fake-${which.join('-')}`, logger: false });
  await app.listen();
  return app;
}
