/**
 * The gateway's decisions on held originates (TelephonyOriginateRelease), matched to the
 * originates waiting for them. A decision and its originate travel on different connections, so
 * either may come first: a decision nobody waits for yet is kept a while (every replica hears every
 * decision; those for another replica's originates simply expire). No decision in time is never
 * taken for a "go": a held originate is never sent on a guess.
 */
export class OriginateReleases {
  /** Decisions heard before their originate, oldest first (Map keeps insertion order). */
  private readonly early = new Map<string, { go: boolean; at: number }>();
  private readonly waiting = new Map<string, (go: boolean | null) => void>();

  constructor(private readonly options: { keepMs: number; maxKept: number; now?: () => number } = { keepMs: 10_000, maxKept: 10_000 }) {}

  /** A decision heard on NATS. */
  release(callId: string, go: boolean): void {
    const waiter = this.waiting.get(callId);
    if (waiter) {
      waiter(go);
      return;
    }
    this.forgetOld();
    if (this.early.size >= this.options.maxKept) this.early.delete(this.early.keys().next().value!);
    this.early.set(callId, { go, at: this.now() });
  }

  /** The decision on `callId`: true to send it, false when withdrawn, null when none came within `timeoutMs`. */
  wait(callId: string, timeoutMs: number): Promise<boolean | null> {
    const early = this.early.get(callId);
    if (early) {
      this.early.delete(callId);
      return Promise.resolve(early.go);
    }
    return new Promise<boolean | null>((resolve) => {
      const timer = setTimeout(() => settle(null), timeoutMs);
      const settle = (go: boolean | null) => {
        clearTimeout(timer);
        this.waiting.delete(callId);
        resolve(go);
      };
      this.waiting.set(callId, settle);
    });
  }

  /** Shutdown: every originate still waiting is withdrawn. */
  withdrawAll(): void {
    for (const settle of [...this.waiting.values()]) settle(false);
  }

  get kept(): number {
    return this.early.size;
  }

  private forgetOld(): void {
    const oldest = this.now() - this.options.keepMs;
    for (const [callId, { at }] of this.early) {
      if (at > oldest) break;
      this.early.delete(callId);
    }
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}
