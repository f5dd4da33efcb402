import { createHash, timingSafeEqual } from 'node:crypto';
import { HttpProblem } from '../http/http-problem';

export const AdminMessage = {
  Disabled: 'Admin API is disabled',
  NoToken: 'Admin token is not specified',
  InvalidToken: 'Invalid admin token',
} as const;

/**
 * `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time (both sides hashed first, so
 * neither the content nor the length of the token leaks through timing).
 */
export function checkAdminToken(expected: string | undefined, authorization: string | string[] | undefined): void {
  if (!expected) throw HttpProblem.forbidden(AdminMessage.Disabled);
  const match = typeof authorization === 'string' ? /^Bearer +([^\s]+)$/i.exec(authorization.trim()) : null;
  if (!match) throw HttpProblem.forbidden(AdminMessage.NoToken);
  const digest = (s: string) => createHash('sha256').update(s).digest();
  if (!timingSafeEqual(digest(match[1]), digest(expected))) throw HttpProblem.forbidden(AdminMessage.InvalidToken);
}
