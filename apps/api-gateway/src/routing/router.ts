import { HttpProblem } from '../http/http-problem';

/**
 * Matches decoded path segments against a route table. Patterns use `<name>` for one segment and
 * `<name...>` for the rest of the path (channel names contain `/`). When several patterns match,
 * the most specific wins (literal > parameter > rest, compared left to right): `/v1/users/create`
 * beats `/v1/users/<username>`. A matching pattern without the request's method answers 405.
 */
export interface RoutableRoute {
  method: string;
  path: string;
  aliases?: readonly string[];
}

type Token = { kind: 'literal'; value: string } | { kind: 'param'; name: string } | { kind: 'rest'; name: string };

export interface RouteMatch<R> {
  route: R;
  /** Decoded path parameters; a rest parameter's segments are joined with `/`. */
  params: Record<string, string>;
  /** The route's own path with the parameters filled in: aliases count as the route's URL. */
  canonicalPath: string;
}

interface Entry<R> {
  tokens: Token[];
  route: R;
}

export function compilePattern(path: string): Token[] {
  return path
    .split('/')
    .slice(1)
    .map((part): Token => {
      const param = /^<([a-z_]+)(\.\.\.)?>$/.exec(part);
      if (!param) return { kind: 'literal', value: part };
      return param[2] ? { kind: 'rest', name: param[1] } : { kind: 'param', name: param[1] };
    });
}

const RANK = { literal: 2, param: 1, rest: 0 } as const;

export class Router<R extends RoutableRoute> {
  private readonly entries: Entry<R>[] = [];

  constructor(routes: readonly R[]) {
    for (const route of routes) {
      for (const path of [route.path, ...(route.aliases ?? [])]) {
        this.entries.push({ tokens: compilePattern(path), route });
      }
    }
  }

  /** The route for this method and path, or a 404/405 HttpProblem. */
  resolve(method: string, segments: string[] | null): RouteMatch<R> {
    if (!segments) throw HttpProblem.notFound();
    const hits = this.bestMatches(segments);
    if (hits.length === 0) throw HttpProblem.notFound();
    const hit = hits.find((h) => h.entry.route.method === method);
    if (!hit) throw HttpProblem.methodNotAllowed([...new Set(hits.map((h) => h.entry.route.method))].sort());
    return { route: hit.entry.route, params: hit.params, canonicalPath: fillPattern(hit.entry.route.path, hit.params) };
  }

  /** The routes this path would be, whatever the method (e.g. to answer a refused request in the route's own way). */
  routesAt(segments: string[]): R[] {
    return this.bestMatches(segments).map((h) => h.entry.route);
  }

  /** The entries of the most specific pattern(s) matching the path (one per method). */
  private bestMatches(segments: string[]): Array<{ entry: Entry<R>; params: Record<string, string> }> {
    let best: { tokens: Token[]; hits: Array<{ entry: Entry<R>; params: Record<string, string> }> } | undefined;
    for (const entry of this.entries) {
      const params = matchTokens(entry.tokens, segments);
      if (!params) continue;
      const cmp = best ? compareSpecificity(entry.tokens, best.tokens) : 1;
      if (cmp > 0) best = { tokens: entry.tokens, hits: [{ entry, params }] };
      else if (cmp === 0) best!.hits.push({ entry, params });
    }
    return best?.hits ?? [];
  }

  /** Every route with its patterns, e.g. for documentation. */
  get routes(): readonly R[] {
    return [...new Set(this.entries.map((e) => e.route))];
  }
}

function matchTokens(tokens: Token[], segments: string[]): Record<string, string> | null {
  const params: Record<string, string> = {};
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token.kind === 'rest') {
      if (i >= segments.length) return null;
      params[token.name] = segments.slice(i).join('/');
      return params;
    }
    if (i >= segments.length) return null;
    if (token.kind === 'literal') {
      if (segments[i] !== token.value) return null;
    } else params[token.name] = segments[i];
  }
  return tokens.length === segments.length ? params : null;
}

/** >0 when `a` is more specific than `b`. */
function compareSpecificity(a: Token[], b: Token[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const ra = a[i] ? RANK[a[i].kind] : -1;
    const rb = b[i] ? RANK[b[i].kind] : -1;
    if (ra !== rb) return ra - rb;
  }
  return 0;
}

export function fillPattern(path: string, params: Record<string, string>): string {
  return path.replace(/<([a-z_]+)(?:\.\.\.)?>/g, (_, name: string) => params[name] ?? '');
}

/** `/v1/users/<username>` → `/v1/users/{username}` (OpenAPI). */
export const openApiPath = (path: string) => path.replace(/<([a-z_]+)(?:\.\.\.)?>/g, '{$1}');
