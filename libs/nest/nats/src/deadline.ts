import { DomainError } from '@ringcloud/contracts-common';

/**
 * The moment (epoch ms) after which the requester no longer waits for the reply: RpcClient sets it
 * to its send time + the request's timeout; DrainingNatsServer drops a request received later.
 * Header names are case-sensitive in NATS: sender and receiver both use this constant (as with
 * REQUEST_ID_HEADER).
 *
 * Clocks: the deadline is compared across pods, so this assumes their clocks are NTP-synced (a few
 * ms apart) — small against request timeouts of seconds. No grace period is added on purpose.
 */
export const DEADLINE_HEADER = 'X-Deadline-Ms';

export function deadlineAfter(timeoutMs: number, now = Date.now()): string {
  return String(now + timeoutMs);
}

/**
 * How many ms past its deadline a request is, or undefined when it is still awaited — or carries
 * no deadline (older senders, tests, the bench) or one that does not parse: those are handled as before.
 */
export function msPastDeadline(header: string | undefined, now = Date.now()): number | undefined {
  const deadline = parseDeadline(header);
  if (deadline === undefined) return undefined;
  const late = now - deadline;
  return late > 0 ? late : undefined;
}

/**
 * The requester's deadline (epoch ms) of a request being handled — from Nest's `@Ctx() NatsContext`
 * headers — for a handler whose effect must not happen once nobody waits for its answer (an
 * originate: the client was told it failed, and may try again). Undefined without the header.
 */
export function requesterDeadline(headers: { get(name: string): string } | undefined): number | undefined {
  return parseDeadline(headers?.get(DEADLINE_HEADER) || undefined);
}

/**
 * How long before its requester's deadline a handler still carries out an effect the requester
 * must hear about (a row committed, a call placed): time for that last step and the reply to travel back.
 */
export const REPLY_MARGIN_MS = 100;

/**
 * Whether the requester still waits at least `marginMs` (true without a deadline). Checked as the
 * last step before a create commits or a call is placed: past it, the requester has answered its
 * client 503 — who may be retrying already — and the effect would be one nobody was told of.
 */
export function requesterWaits(deadline: number | undefined, marginMs = REPLY_MARGIN_MS, now = Date.now()): boolean {
  return deadline === undefined || deadline - now >= marginMs;
}

/** The answer of a request not carried out because its requester gave up (nobody may receive it). */
export const requesterGaveUp = (what: string) => DomainError.unavailable(`the request ran out of time before ${what}; nothing was done`);

function parseDeadline(header: string | undefined): number | undefined {
  return header && /^\d{1,16}$/.test(header) ? Number(header) : undefined;
}
