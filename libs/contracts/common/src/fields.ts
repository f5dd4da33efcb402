import { z } from 'zod';

/** Field rules shared by the HTTP contract and every service. Messages are the v1 API's 400 texts. */

/**
 * "<field> is required" when the value is missing, else `otherwise`. Error maps see the input
 * (issues do not, unless parsed with reportInput), so this is where the two cases can be told apart.
 */
const requiredOr = (field: string, otherwise: string) => (issue: { input?: unknown }) =>
  issue.input === undefined ? `${field} is required` : otherwise;

/** Digit strings may arrive as JSON numbers from loosely typed clients (PHP arrays): accept whole numbers. */
const digits = (field: string, pattern: RegExp, rule: string) => {
  const message = `${field} must be ${rule}`;
  return z
    .union([z.string(), z.number().int(message).nonnegative(message).max(Number.MAX_SAFE_INTEGER, message)], {
      error: requiredOr(field, message),
    })
    .transform((v) => String(v))
    .refine((v) => pattern.test(v), { message });
};

export const AccountId = z.number().int().positive().max(2_147_483_647);

export const UserName = z.string().regex(/^[1-9][0-9]{5,14}$/, 'user must be a numeric user name');

/** A user's internal extension number: what a phone or an originate dials to reach a colleague. */
export const EXTENSION_PATTERN = /^[0-9]{2,6}$/;

export const Extension = digits('num', EXTENSION_PATTERN, 'a string of 2 to 6 digits');

export const DialNumber = digits('num', /^\+?[0-9]{2,20}$/, '2 to 20 digits with an optional leading +');

export const Email = z
  .string({ error: requiredOr('mail', 'mail must be a string') })
  .trim()
  .max(254, 'mail is too long')
  .pipe(z.email({ error: 'mail is not a valid email address' }));

/**
 * SIP password: it protects a phone line against toll fraud, so weak ones are refused.
 * 8–64 printable ASCII characters, at least one letter and one digit.
 */
export const SipPassword = z
  .string({ error: requiredOr('password', 'password must be a string') })
  .min(1, 'password must not be empty')
  .min(8, 'password is too weak: use at least 8 characters')
  .max(64, 'password is too long: at most 64 characters')
  .regex(/^[\x21-\x7e]+$/, 'password may contain printable ASCII characters only, without spaces')
  .refine((v) => /[A-Za-z]/.test(v) && /[0-9]/.test(v), 'password is too weak: use letters and digits');

export const Access = z.enum(['RO', 'RW']);
export type Access = z.infer<typeof Access>;

/** "YYYY-MM-DD HH:MM:SS" as v1 shows times. */
export const V1DateTime = z.string().regex(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);

/** The first zod issue as one readable sentence for the v1 error envelope. */
export function firstIssueMessage(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid parameters';
  const path = issue.path.join('.');
  // Issues carry `input` only when parsed with reportInput; zod's own text says "received undefined".
  const missing = ('input' in issue && issue.input === undefined) || /received undefined$/.test(issue.message);
  if (issue.code === 'invalid_type' && missing) return `${path || 'value'} is required`;
  if (issue.code === 'unrecognized_keys') return `unknown parameter ${issue.keys.join(', ')}`;
  // Our own messages name their field ("num must be …"); zod's own ("Too big: …") do not.
  const named = issue.path.some((part) => typeof part === 'string' && issue.message.startsWith(part));
  return named || !path ? issue.message : `${path}: ${issue.message}`;
}
