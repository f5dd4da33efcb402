import { Inject, Injectable } from '@nestjs/common';
import { DomainError } from '@ringcloud/contracts-common';
import type { CallsRecordingGet, CallsRecordingList } from '@ringcloud/contracts-calls';
import { PbxClock } from '../time/pbx-clock';
import { UserDirectory } from '../users/user-directory';
import { RecordingsRepository } from './recordings.repository';

/** A user's recordings at most per answer (newest kept): bounded by the NATS message size. */
export const MAX_RECORDINGS = 10_000;

@Injectable()
export class RecordingsService {
  constructor(
    private readonly recordings: RecordingsRepository,
    private readonly users: UserDirectory,
    @Inject(PbxClock) private readonly clock: PbxClock,
  ) {}

  /**
   * `[file_name, recorded_at]` newest first. A user without recordings has an empty list, so whether
   * the user exists is asked of users-service: an unknown user, or another account's, is NOT_FOUND.
   * A deleted user's recordings stay listed (they are this account's: rows are keyed by account).
   */
  async list(req: CallsRecordingList.Request): Promise<CallsRecordingList.Response> {
    const rows = await this.recordings.listForUser(req.account_id, req.user, MAX_RECORDINGS);
    if (!rows.length && !(await this.users.find(req.account_id, req.user))) throw DomainError.notFound('User not found');
    return rows.map((r) => [r.file_name, this.clock.format(r.recorded_at)] as [string, string]);
  }

  /** Where the file is stored, only for a recording of this user in this account. */
  async get(req: CallsRecordingGet.Request): Promise<CallsRecordingGet.Response> {
    const row = await this.recordings.findForUser(req.account_id, req.user, req.file_name);
    if (!row) throw DomainError.notFound('Recording not found');
    return { file_name: row.file_name, object_name: row.object_name, content_type: row.content_type, size: Number(row.size) };
  }
}
