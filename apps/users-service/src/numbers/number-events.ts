import { randomUUID } from 'node:crypto';
import { NumberInfo, NumberRouting, UsersNumberAssigned, UsersNumberReleased } from '@ringcloud/contracts-users';
import type { NumberRow } from './numbers.repository';

/**
 * The routing event for a number's state after a change: `users.number.assigned` (assign,
 * reassign, the user's extension changed) with account, user and extension, or
 * `users.number.released` with all three null. `extension` is the user's, read under lock.
 */
export function routingEvent(row: NumberRow, extension: string | null): { id: string; subject: string; payload: NumberRouting } {
  const id = randomUUID();
  const assigned = row.accountId !== null && row.username !== null;
  const payload: NumberRouting = {
    event_id: id,
    occurred_at: new Date().toISOString(),
    version: row.version,
    number: row.number,
    account_id: assigned ? row.accountId : null,
    user: assigned ? row.username : null,
    num: assigned ? extension : null,
  };
  if (assigned && extension === null) throw new Error(`routing event for number ${row.number}: the user's extension is missing`);
  return { id, subject: (assigned ? UsersNumberAssigned : UsersNumberReleased).subject, payload: NumberRouting.parse(payload) };
}

/** NumberInfo of an assigned row. */
export function toNumberInfo(row: NumberRow, extension: string): NumberInfo {
  if (row.accountId === null || row.username === null || row.assignedAt === null) throw new Error(`number ${row.number} is not assigned`);
  return {
    number: row.number,
    account_id: row.accountId,
    user: row.username,
    num: extension,
    assigned_at: row.assignedAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}
