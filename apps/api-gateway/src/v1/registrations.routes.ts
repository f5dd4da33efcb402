import { z } from 'zod';
import { TelephonyRegistrationList, UserRegistration } from '@ringcloud/contracts-telephony';
// Types only: routes.ts imports this table (a value import back would be circular).
import type { V1Route } from './routes';

/** `GET /v1/users/registrations` (v1 extension): which users' phones the PBX can ring now. */
export const REGISTRATIONS_ROUTES: readonly V1Route[] = [
  {
    id: 'users.registrations',
    method: 'GET',
    path: '/v1/users/registrations',
    summary: "Registration state of the account's users' phones",
    description:
      'v1 extension. One item per user provisioned on the PBX (a user created a moment ago may not be listed yet), ' +
      'by user name: `registered` is true while its SIP phone has a contact the PBX would ring (registered and ' +
      'not unreachable) — the same test originate applies. 503 while the PBX is unavailable.',
    limit: { requests: 1, per_seconds: 1 },
    access: 'RO',
    response: z.array(UserRegistration),
    handle: ({ key }, { rpc }) => rpc.send(TelephonyRegistrationList.contract, { account_id: key.account_id }),
  },
];
