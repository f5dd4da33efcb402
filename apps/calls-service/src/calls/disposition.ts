import type { Disposition } from '@ringcloud/contracts-telephony';

/** Q.850 causes Asterisk reports as BUSY (user busy, call rejected). */
const BUSY_CAUSES = new Set([17, 21]);
/** Causes that mean the call could not be placed at all (bad number, network/congestion, service errors). */
const FAILED_CAUSES = new Set([1, 2, 3, 22, 27, 28, 29, 31]);

export interface KnownOutcome {
  bridgedAt: Date | null;
  answeredAt: Date | null;
  endCause: number | null;
}

/**
 * The disposition of a call that ended without a CDR (yet), from what its events told, the way
 * Asterisk's CDR engine decides: talking parties (a bridge) mean ANSWERED; busy and failure causes
 * come next (an originate whose employee answered but whose B party was busy is BUSY, as in the
 * recorded transcripts); then an answered channel; anything else did not get answered.
 */
export function provisionalDisposition(call: KnownOutcome): Disposition {
  if (call.bridgedAt) return 'ANSWERED';
  const cause = call.endCause ?? 0;
  if (BUSY_CAUSES.has(cause)) return 'BUSY';
  if (FAILED_CAUSES.has(cause) || (cause >= 34 && cause !== 102)) return 'FAILED';
  if (call.answeredAt) return 'ANSWERED';
  return 'NO ANSWER';
}
