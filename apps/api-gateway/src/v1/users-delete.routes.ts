import { z } from 'zod';
import { DeleteUserParams, UsersUserDelete } from '@ringcloud/contracts-users';
import type { V1Route } from './routes';

/** `POST /v1/users/delete` (issue 9: user deletion, announced in the original article). */
export const USERS_DELETE_ROUTES: readonly V1Route[] = [
  {
    id: 'users.delete',
    method: 'POST',
    path: '/v1/users/delete',
    summary: 'Delete a user',
    description:
      'Removes the user and its SIP account: its phone can no longer register, its inbound numbers are released, ' +
      'its extension is free again. Its call records and recordings stay listed. The user name is never given to ' +
      'another user. An unknown user, or another account\'s, → 404 `User not found`. Answers `data: null`.',
    limit: { requests: 1, per_seconds: 5 },
    access: 'RW',
    params: DeleteUserParams,
    response: z.null(),
    handle: ({ key, params }, { rpc }) => rpc.send(UsersUserDelete.contract, { account_id: key.account_id, user: params.user }),
  },
];
