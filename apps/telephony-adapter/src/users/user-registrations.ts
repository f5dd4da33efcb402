import { DomainError } from '@ringcloud/contracts-common';
import type { UserRegistration } from '@ringcloud/contracts-telephony';
import { AmiSession } from '../ami/ami-session';
import { Registrations } from '../calls/registrations';
import { renderDevice } from '../config/telephony-config';
import { isDatabaseUnavailable } from '../infra/database';
import { UserDirectory } from './user-directory';

export interface UserRegistrationsDeps {
  session: Pick<AmiSession, 'isReady'>;
  registrations: Registrations;
  directory: Pick<UserDirectory, 'provisionedIn'>;
  deviceTemplate: string;
  /** How long to wait for the contact list of a fresh connection. */
  syncWaitMs: number;
}

/**
 * Which of an account's provisioned users have a phone the PBX would ring: the users from
 * provisioned_users (the database, not the directory's cache, so a user provisioned by another
 * replica is listed), their state from the contacts this adapter tracks (the same answer the
 * originate check gives). Endpoints of a non-PJSIP device template have no contacts: never registered.
 */
export class UserRegistrations {
  constructor(private readonly deps: UserRegistrationsDeps) {}

  async list(accountId: number): Promise<UserRegistration[]> {
    const { session, registrations, directory } = this.deps;
    if (!session.isReady) throw DomainError.unavailable('the PBX is unavailable');
    if (!registrations.isSynced && !(await registrations.whenSynced(this.deps.syncWaitMs))) {
      throw DomainError.unavailable('the PBX state is not known yet; try again');
    }
    let rows: Array<{ user: string; num: string }>;
    try {
      rows = await directory.provisionedIn(accountId);
    } catch (err) {
      if (isDatabaseUnavailable(err)) throw DomainError.unavailable('the telephony database is unavailable');
      throw err;
    }
    return rows.map(({ user, num }) => {
      const endpoint = /^PJSIP\/([^/@]+)/.exec(renderDevice(this.deps.deviceTemplate, user))?.[1];
      return { user, num, registered: endpoint !== undefined && registrations.isRegistered(endpoint) };
    });
  }
}
