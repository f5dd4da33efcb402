/** A handler's `data` plus response headers (e.g. `X-Next-Cursor`): the envelope is unchanged. */
export class WithHeaders<T = unknown> {
  constructor(
    readonly data: T,
    readonly headers: Record<string, string>,
  ) {}
}
