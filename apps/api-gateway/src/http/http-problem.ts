/**
 * An answer the gateway itself decides (404, 405, 403, 413, 429, 503 …), thrown from anywhere in
 * the pipeline and written by the one error filter. `headers` travel with it (Allow, Retry-After).
 */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpProblem';
  }

  static badRequest = (message: string) => new HttpProblem(400, message);
  static forbidden = (message: string) => new HttpProblem(403, message);
  static notFound = (message = 'Not found') => new HttpProblem(404, message);
  static methodNotAllowed = (allow: readonly string[]) =>
    new HttpProblem(405, 'Method not allowed', { Allow: allow.join(', ') });
  static unavailable = (message = 'Service is temporarily unavailable', retryAfterSeconds = 1) =>
    new HttpProblem(503, message, { 'Retry-After': String(retryAfterSeconds) });
}
