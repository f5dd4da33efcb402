/**
 * The request target as the gateway reads it: from the raw URL, never from a framework's decoding,
 * so that `%2F` inside a segment, `%` alone or invalid UTF-8 are decided here (and answer 404).
 */
export interface RequestUrl {
  /** Percent-decoded path segments; null when the path cannot be decoded or is not a plain path. */
  segments: string[] | null;
  /** The path's segments as sent, not decoded (what a refused path looked like). */
  rawSegments: string[];
  /** The raw query string, without `?`. */
  rawQuery: string;
  query: URLSearchParams;
}

/**
 * A request target in absolute form (`http://host/path?q`, which RFC 9112 3.2.2 says a server must
 * accept; proxies and some HTTP libraries send it) as its origin form (`/path?q`). Fastify routes the
 * result (its `rewriteUrl`), so every part of the gateway sees a path.
 */
export function originForm(target: string): string {
  const authority = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(target);
  if (!authority) return target;
  const rest = target.slice(authority[0].length);
  return rest.startsWith('/') ? rest : `/${rest}`;
}

export function parseRequestUrl(url: string): RequestUrl {
  const q = url.indexOf('?');
  const rawPath = q === -1 ? url : url.slice(0, q);
  const rawQuery = q === -1 ? '' : url.slice(q + 1);
  // Repeated slashes are one, as nginx's merge_slashes makes them (`//v1/users/…` comes from a base
  // URL ending in `/` joined with a rec_file path), and a trailing slash is forgiven (`/v1/users/`).
  // Only raw slashes merge: an encoded `%2F` stays inside its segment.
  const rawSegments = rawPath.split('/').filter((part) => part !== '');
  return { segments: rawPath.startsWith('/') ? decodeSegments(rawSegments) : null, rawSegments, rawQuery, query: new URLSearchParams(rawQuery) };
}

function decodeSegments(raw: string[]): string[] | null {
  const segments: string[] = [];
  for (const part of raw) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(part);
    } catch {
      return null; // `%`, `%zz`, invalid UTF-8
    }
    // Empty (`%20`-free but decoded to '') and dot segments never name a resource; refusing them keeps
    // traversal out of every handler.
    if (decoded === '' || decoded === '.' || decoded === '..') return null;
    segments.push(decoded);
  }
  return segments;
}

/**
 * The query string as rate-limit identity: without api_key/hash, parameters sorted, so that
 * `?a=1&b=2` and `?b=2&a=1` are the same URL.
 */
export function canonicalQuery(query: URLSearchParams): string {
  return [...query]
    .filter(([name]) => name !== 'api_key' && name !== 'hash')
    .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`)
    .sort()
    .join('&');
}
