/**
 * The PBX's clock. Every delay the dial plan asks for (Wait(3), Answer()'s half second, a Dial
 * timeout) is PBX time; it passes `scale` times faster on the wall clock (scale 0.1: Wait(3)
 * takes 300 ms). Times the PBX reports (CDR durations, event timestamps) are PBX time too, so a
 * scaled run reports the same numbers as a real one.
 */
export class SimClock {
  private readonly wallStart = Date.now();
  private readonly perfStart = performance.now();

  constructor(readonly scale = 1) {
    if (!(scale > 0)) throw new Error('time scale must be > 0');
  }

  /** PBX time in epoch milliseconds. */
  now(): number {
    return this.wallStart + (performance.now() - this.perfStart) / this.scale;
  }

  /** Wall milliseconds → PBX milliseconds (for delays configured in wall time). */
  fromWall(ms: number): number {
    return ms / this.scale;
  }

  /** PBX milliseconds → wall milliseconds. */
  toWall(ms: number): number {
    return ms * this.scale;
  }

  /**
   * Resolves after `ms` of PBX time with 'elapsed', or early with 'aborted' when the signal fires
   * (a hangup interrupting Wait(), a Dial being cancelled...).
   */
  sleep(ms: number, signal?: AbortSignal): Promise<'elapsed' | 'aborted'> {
    if (signal?.aborted) return Promise.resolve('aborted');
    return new Promise((resolve) => {
      const onAbort = () => {
        clearTimeout(timer);
        resolve('aborted');
      };
      const timer = setTimeout(
        () => {
          signal?.removeEventListener('abort', onAbort);
          resolve('elapsed');
        },
        Math.max(0, ms * this.scale),
      );
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** `2026-11-26 13:49:47` in the process's local time, as CEL and CDR print it. */
export function formatLocal(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** `2026-11-26T13:49:46.910+0000` as security events print it. */
export function formatTv(ms: number): string {
  const d = new Date(ms);
  const offset = -d.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}` +
    `.${pad(d.getMilliseconds(), 3)}${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`
  );
}

/** `HH:MM:SS` for CoreShowChannel's Duration. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
}
