import { RateLimit } from '../config';

/** A bench run measures the limiter's cost without being stopped by it. */
export const BENCH_LIMIT: RateLimit = { requests: 1_000_000, per_seconds: 1 };

/**
 * The limits in force: the route table's defaults, widened by the `bench` profile, then the
 * operator's RATE_LIMITS overrides. An override for an unknown id stops the start (a typo would
 * otherwise silently keep the default).
 */
export function resolveLimits(
  defaults: ReadonlyMap<string, RateLimit>,
  profile: 'default' | 'bench',
  overrides: Record<string, RateLimit>,
): Map<string, RateLimit> {
  const unknown = Object.keys(overrides).filter((id) => !defaults.has(id));
  if (unknown.length) {
    throw new Error(`RATE_LIMITS: unknown limit id(s) ${unknown.join(', ')}; known: ${[...defaults.keys()].join(', ')}`);
  }
  const limits = new Map<string, RateLimit>();
  for (const [id, limit] of defaults) limits.set(id, profile === 'bench' ? BENCH_LIMIT : limit);
  for (const [id, limit] of Object.entries(overrides)) limits.set(id, limit);
  return limits;
}
