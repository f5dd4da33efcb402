/** The wait before attempt `step + 2` with ±20% jitter, or undefined when the schedule is exhausted. */
export function nextWait(scheduleMs: readonly number[], step: number, random: () => number = Math.random): number | undefined {
  const base = scheduleMs[step];
  if (base === undefined) return undefined;
  return Math.max(0, Math.round(base * (0.8 + 0.4 * random())));
}
