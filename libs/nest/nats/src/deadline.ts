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
  if (!header || !/^\d{1,16}$/.test(header)) return undefined;
  const late = now - Number(header);
  return late > 0 ? late : undefined;
}
