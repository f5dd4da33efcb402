/**
 * Asterisk extension patterns: `_X.`, `_000.`, `_4XX`. X = 0-9, Z = 1-9, N = 2-9, [a-b] a set,
 * `.` one or more of anything, `!` zero or more. A literal extension matches only itself.
 */

interface Compiled {
  regex: RegExp;
  /** One entry per pattern character: how many characters it accepts (smaller = more specific). */
  rank: number[];
}

const cache = new Map<string, Compiled>();

function compile(pattern: string): Compiled {
  const hit = cache.get(pattern);
  if (hit) return hit;
  let source = '';
  const rank: number[] = [];
  if (!pattern.startsWith('_')) {
    source = escape(pattern);
    rank.push(0);
  } else {
    const body = pattern.slice(1);
    for (let i = 0; i < body.length; i++) {
      const [part, accepts] = patternChar(body, i);
      source += part;
      rank.push(accepts);
      if (body[i] === '[') {
        const close = body.indexOf(']', i);
        i = close > i ? close : body.length;
      }
    }
  }
  const compiled = { regex: new RegExp(`^${source}$`), rank };
  cache.set(pattern, compiled);
  return compiled;
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** One pattern character at `i`: its regex and how many characters it accepts. */
function patternChar(body: string, i: number): [string, number] {
  const c = body[i];
  switch (c.toUpperCase()) {
    case 'X':
      return ['[0-9]', 10];
    case 'Z':
      return ['[1-9]', 9];
    case 'N':
      return ['[2-9]', 8];
    case '.':
      return ['.+', 1000];
    case '!':
      return ['.*', 1001];
    case '[': {
      const close = body.indexOf(']', i);
      const set = close > i ? body.slice(i + 1, close) : '';
      const size = set.replace(/(.)-(.)/g, (_m, a: string, b: string) => 'x'.repeat(b.charCodeAt(0) - a.charCodeAt(0) + 1)).length;
      return [`[${set.replace(/[\\\]^]/g, '\\$&')}]`, Math.max(1, size)];
    }
    default:
      return [escape(c), 1];
  }
}

export function matches(pattern: string, exten: string): boolean {
  return compile(pattern).regex.test(exten);
}

/** Asterisk's order: a literal match wins, then the pattern whose characters accept the fewest. */
export function bestMatch<T extends { pattern: string }>(entries: readonly T[], exten: string): T | undefined {
  const candidates = entries.filter((e) => matches(e.pattern, exten));
  const literal = candidates.find((e) => !e.pattern.startsWith('_'));
  if (literal) return literal;
  return candidates.sort((a, b) => compareRank(compile(a.pattern).rank, compile(b.pattern).rank))[0];
}

function compareRank(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return b.length - a.length;
}
