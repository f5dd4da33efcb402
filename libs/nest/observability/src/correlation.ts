import { AsyncLocalStorage } from 'node:async_hooks';

/** Header carrying the gateway's request id on HTTP and on NATS messages. */
export const REQUEST_ID_HEADER = 'X-Request-Id';

const store = new AsyncLocalStorage<{ requestId: string }>();

/** Runs `fn` with `requestId` as the correlation id of everything it logs or sends over NATS. */
export function withRequestId<T>(requestId: string | undefined, fn: () => T): T {
  return requestId ? store.run({ requestId }, fn) : fn();
}

/** The correlation id of the work in progress, if any. */
export const currentRequestId = (): string | undefined => store.getStore()?.requestId;
