import { z } from 'zod';
import { AccountId, Page, PageRequest, UserName, command, event } from '@ringcloud/contracts-common';

/**
 * Inbound phone numbers (DIDs). A number belongs to one account and rings one of its users; the
 * PSTN trunk's calls to it are routed by the telephony-adapter's dial-plan rows. Stored and sent
 * as E.164 digits without the `+` (what trunks put in the request URI); a leading `+` is accepted.
 */
export const PhoneNumber = z
  .string()
  .trim()
  .regex(/^\+?[1-9][0-9]{4,14}$/, 'number must be an E.164 phone number: 5 to 15 digits, optionally with a leading +')
  .transform((n) => n.replace(/^\+/, ''));

export const NumberInfo = z.object({
  number: z.string(),
  account_id: z.number().int(),
  user: z.string(),
  /** The user's extension the number rings. */
  num: z.string(),
  assigned_at: z.string(),
  updated_at: z.string(),
});
export type NumberInfo = z.infer<typeof NumberInfo>;

export namespace UsersNumberList {
  /** Every assigned number, or one account's. */
  export const contract = command('users.number.list', z.object({ account_id: AccountId.optional() }), z.array(NumberInfo));
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
}

export namespace UsersNumberListPage {
  /**
   * One page of `users.number.list` (keyed by account, then number): the gateway reads the whole
   * list page by page, as one reply of a large platform's numbers would not fit a NATS message.
   */
  export const contract = command('users.number.list_page', z.object({ account_id: AccountId.optional(), page: PageRequest }), Page(NumberInfo));
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
}

export namespace UsersNumberAssign {
  /** A free number to a user of `account_id` (400 when the number is taken or the user is not the account's). */
  export const contract = command('users.number.assign', z.object({ number: PhoneNumber, account_id: AccountId, user: UserName }), NumberInfo);
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
}

export namespace UsersNumberReassign {
  /** An assigned number to another user, of the same or (with `account_id`) another account. */
  export const contract = command(
    'users.number.reassign',
    z.object({ number: PhoneNumber, user: UserName, account_id: AccountId.optional() }),
    NumberInfo,
  );
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
}

export namespace UsersNumberRelease {
  export const contract = command('users.number.release', z.object({ number: PhoneNumber }), z.null());
  export const subject = contract.subject;
  export type Request = z.output<typeof contract.request>;
  export type Response = z.output<typeof contract.response>;
}

/**
 * A number's whole routing state, sent on every change: assigned or reassigned (account, user and
 * the user's extension set), or released (all null). `version` increases per number for its
 * whole life (a released number keeps its counter), so consumers apply only newer states and
 * replays converge.
 */
export const NumberRouting = z.object({
  event_id: z.string().uuid(),
  occurred_at: z.string(),
  version: z.number().int().positive(),
  number: z.string().regex(/^[1-9][0-9]{4,14}$/),
  account_id: z.number().int().nullable(),
  user: z.string().nullable(),
  num: z.string().nullable(),
});
export type NumberRouting = z.infer<typeof NumberRouting>;

export const UsersNumberAssigned = event('users.number.assigned', NumberRouting);
export const UsersNumberReleased = event('users.number.released', NumberRouting);
