import { UsersNumberAssigned, UsersNumberReleased } from './numbers';
import { UsersUserCreated, UsersUserDeleted, UsersUserUpdated } from './users';

/** JetStream stream that keeps users-service events durably for the telephony adapter. Lists subjects
 * exactly: a wildcard such as `users.user.>` would also capture the request subjects. */
export const USERS_EVENTS_STREAM = {
  name: 'USERS_EVENTS',
  subjects: [UsersUserCreated.subject, UsersUserUpdated.subject, UsersUserDeleted.subject, UsersNumberAssigned.subject, UsersNumberReleased.subject],
} as const;
