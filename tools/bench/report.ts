/** Small helpers shared by the bench parts: percentiles and Markdown tables. */

/** The p-th percentile (0–100) of `values`, nearest-rank; NaN when empty. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function table(headers: string[], rows: (string | number)[][], rightFrom = 1): string {
  const align = headers.map((_, i) => (i >= rightFrom ? '---:' : '---'));
  return [headers, align, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

export const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '-');
export const int = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '-');

/** Runs `task(i)` for i in [0, count) with at most `concurrency` running at once. */
export async function pool(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
