import { createHash } from 'node:crypto';
import type { VerifyResult } from '@ringcloud/contracts-users';

interface Entry {
  apiKey: string;
  result: VerifyResult;
  expiresAt: number;
}

interface Flight {
  apiKey: string;
  stale: boolean;
  promise: Promise<VerifyResult>;
}

/**
 * In-memory cache of key verifications (positive and negative), keyed by api_key + sha256(hash):
 * the raw hash is never kept. Least-recently-used entries go first beyond `maxEntries`.
 * Concurrent misses for the same pair share one verification; `invalidate(apiKey)` drops the key's
 * entries and makes verifications already in flight not store their (possibly stale) result.
 * An entry used in the second half of its life is verified again in the background (refresh-ahead):
 * a key in use keeps a fresh entry and its requests never wait for users-service, while no answer
 * served is older than the TTL.
 */
export class KeyVerificationCache {
  private readonly entries = new Map<string, Entry>();
  private readonly idsByKey = new Map<string, Set<string>>();
  private readonly inFlight = new Map<string, Flight>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  async get(apiKey: string, hash: string, verify: () => Promise<VerifyResult>): Promise<VerifyResult> {
    const id = `${apiKey}\n${createHash('sha256').update(hash).digest('base64url')}`;
    const hit = this.entries.get(id);
    const now = this.now();
    if (hit && hit.expiresAt > now) {
      this.entries.delete(id); // re-insert: Map order is the LRU order
      this.entries.set(id, hit);
      if (hit.expiresAt - now < this.ttlMs / 2 && !this.inFlight.has(id)) {
        // A failed refresh only leaves the entry to expire: the next request then verifies itself.
        this.verify(id, apiKey, verify).catch(() => undefined);
      }
      return hit.result;
    }
    if (hit) this.remove(id, hit.apiKey);
    return this.inFlight.get(id)?.promise ?? this.verify(id, apiKey, verify);
  }

  /** One verification of the pair at a time; its result is stored unless the key changed meanwhile. */
  private verify(id: string, apiKey: string, verify: () => Promise<VerifyResult>): Promise<VerifyResult> {
    const flight: Flight = { apiKey, stale: false, promise: undefined as never };
    flight.promise = verify()
      .then((result) => {
        if (!flight.stale) this.store(id, apiKey, result);
        return result;
      })
      .finally(() => {
        if (this.inFlight.get(id) === flight) this.inFlight.delete(id);
      });
    this.inFlight.set(id, flight);
    return flight.promise;
  }

  /** The key changed (disabled, enabled, deleted, new password): forget everything about it. */
  invalidate(apiKey: string): void {
    for (const id of this.idsByKey.get(apiKey) ?? []) this.entries.delete(id);
    this.idsByKey.delete(apiKey);
    for (const [id, flight] of this.inFlight) {
      if (flight.apiKey !== apiKey) continue;
      flight.stale = true;
      this.inFlight.delete(id);
    }
  }

  clear(): void {
    this.entries.clear();
    this.idsByKey.clear();
    for (const flight of this.inFlight.values()) flight.stale = true;
    this.inFlight.clear();
  }

  private store(id: string, apiKey: string, result: VerifyResult): void {
    if (this.ttlMs <= 0) return;
    this.entries.delete(id);
    this.entries.set(id, { apiKey, result, expiresAt: this.now() + this.ttlMs });
    let ids = this.idsByKey.get(apiKey);
    if (!ids) this.idsByKey.set(apiKey, (ids = new Set()));
    ids.add(id);
    while (this.entries.size > this.maxEntries) {
      const [oldestId, oldest] = this.entries.entries().next().value as [string, Entry];
      this.remove(oldestId, oldest.apiKey);
    }
  }

  private remove(id: string, apiKey: string): void {
    this.entries.delete(id);
    const ids = this.idsByKey.get(apiKey);
    ids?.delete(id);
    if (ids && ids.size === 0) this.idsByKey.delete(apiKey);
  }
}
