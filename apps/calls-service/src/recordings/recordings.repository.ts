import { Inject, Injectable } from '@nestjs/common';
import { PRISMA, Prisma, PrismaClient } from '../infra/database';

export interface RecordingRow {
  file_name: string;
  object_name: string;
  content_type: string;
  size: bigint;
  recorded_at: Date;
}

/**
 * A recording without audio (a bare WAV header: the call never got to talk, e.g. busy) is no
 * recording: not a call's `rec_file`, not in a user's list, not downloadable (docs/api.md).
 */
export const hasAudio = (alias: Prisma.Sql): Prisma.Sql => Prisma.sql`${alias}.duration_s > 0`;

/**
 * Reads of `recordings`. A recording is filed under its own user, or, when its event named none,
 * under the user of its call — and under every colleague a phone transferred its call to (the
 * call's `transferred_users`): the recording holds their part too.
 */
const ofUser = (user: string): Prisma.Sql => Prisma.sql`(COALESCE(r.user_name, c.user_name) = ${user} OR ${user} = ANY(c.transferred_users))`;

@Injectable()
export class RecordingsRepository {
  constructor(@Inject(PRISMA) private readonly prisma: PrismaClient) {}

  listForUser(accountId: number, user: string, limit: number): Promise<Array<{ file_name: string; recorded_at: Date }>> {
    return this.prisma.$queryRaw`
      SELECT r.file_name, r.recorded_at FROM recordings r LEFT JOIN calls c ON c.call_id = r.call_id
      WHERE r.account_id = ${accountId} AND ${ofUser(user)} AND ${hasAudio(Prisma.sql`r`)}
      ORDER BY r.recorded_at DESC, r.file_name DESC
      LIMIT ${limit}`;
  }

  async findForUser(accountId: number, user: string, fileName: string): Promise<RecordingRow | null> {
    const rows = await this.prisma.$queryRaw<RecordingRow[]>`
      SELECT r.file_name, r.object_name, r.content_type, r.size, r.recorded_at FROM recordings r LEFT JOIN calls c ON c.call_id = r.call_id
      WHERE r.account_id = ${accountId} AND r.file_name = ${fileName} AND ${ofUser(user)} AND ${hasAudio(Prisma.sql`r`)}`;
    return rows[0] ?? null;
  }
}
