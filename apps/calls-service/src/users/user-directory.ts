import { Injectable, Logger } from '@nestjs/common';
import { DomainError, ErrorCode } from '@ringcloud/contracts-common';
import { UsersUserGet, V1User } from '@ringcloud/contracts-users';
import { RpcClient } from '@ringcloud/nest-nats';
import { dependencyError } from '../infra/dependency-error';

/** Who the users of an account are: asked of users-service (calls-service keeps no copy of users). */
@Injectable()
export class UserDirectory {
  private readonly logger = new Logger('UserDirectory');

  constructor(private readonly rpc: RpcClient) {}

  /** The user, or null when it does not exist in this account (another tenant's user included). */
  async find(accountId: number, user: string): Promise<V1User | null> {
    try {
      return await this.rpc.send(UsersUserGet.contract, { account_id: accountId, user, include_password: false });
    } catch (err) {
      if (err instanceof DomainError && err.code === ErrorCode.NotFound) return null;
      throw dependencyError(err, 'users service', this.logger);
    }
  }
}
