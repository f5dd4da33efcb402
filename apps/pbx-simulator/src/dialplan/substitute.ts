import { evaluateExpression, expressionTrue } from './expr';

/**
 * Variable substitution as pbx_substitute_variables_helper does it: `${NAME}`, `${NAME:offset}`,
 * `${NAME:offset:length}`, `${FUNC(args)}` and `$[expression]`, nested (the inside of each is
 * substituted first). Names are resolved by `lookup` (channel variables, built-ins, globals);
 * functions by `call` (IF is built in here). An unknown variable is empty, as in Asterisk.
 */
export interface Resolver {
  /** A variable's value, or undefined when unset. */
  lookup(name: string): string | undefined;
  /** A dial plan function's value, or undefined when the simulator has no such function. */
  call?(name: string, args: string): string | undefined;
  /** Called for what cannot be evaluated (the text then substitutes as empty). */
  warn?(message: string): void;
}

/** Index just past the `}`/`]` closing the construct opened at `start` (which points after `${`/`$[`). */
function closing(text: string, start: number, open: '{' | '[', close: '}' | ']'): number {
  let depth = 1;
  for (let i = start; i < text.length; i++) {
    if (text[i] === '$' && text[i + 1] === open) {
      depth++;
      i++;
    } else if (text[i] === open && open === '[') depth++;
    else if (text[i] === close && --depth === 0) return i;
  }
  return -1;
}

export function substitute(text: string, r: Resolver): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const d = text.indexOf('$', i);
    if (d < 0 || d === text.length - 1) {
      out += text.slice(i);
      break;
    }
    const kind = text[d + 1];
    if (kind !== '{' && kind !== '[') {
      out += text.slice(i, d + 1);
      i = d + 1;
      continue;
    }
    out += text.slice(i, d);
    const end = closing(text, d + 2, kind, kind === '{' ? '}' : ']');
    if (end < 0) {
      // Asterisk warns and keeps the rest literally.
      r.warn?.(`unterminated ${kind === '{' ? '${' : '$['} in '${text}'`);
      out += text.slice(d);
      break;
    }
    const inner = substitute(text.slice(d + 2, end), r);
    if (kind === '[') {
      try {
        out += evaluateExpression(inner);
      } catch (err) {
        r.warn?.(`$[${inner}]: ${(err as Error).message}`);
      }
    } else out += variable(inner, r);
    i = end + 1;
  }
  return out;
}

/** `NAME`, `NAME:off:len`, `FUNC(args)`, `FUNC(args):off:len`. */
function variable(expr: string, r: Resolver): string {
  let name = expr;
  let offset: number | undefined;
  let length: number | undefined;
  const paren = expr.indexOf('(');
  const closeParen = paren >= 0 ? expr.lastIndexOf(')') : -1;
  const colon = expr.indexOf(':', closeParen >= 0 ? closeParen : 0);
  if (colon >= 0 && (paren < 0 || colon > closeParen)) {
    name = expr.slice(0, colon);
    const [o, l] = expr.slice(colon + 1).split(':');
    offset = Number(o) || 0;
    length = l === undefined || l === '' ? undefined : Number(l);
  }
  let value: string | undefined;
  const fn = /^([A-Za-z_][A-Za-z0-9_]*)\(([\s\S]*)\)$/.exec(name);
  if (fn) {
    value = fn[1].toUpperCase() === 'IF' ? ifFunction(fn[2]) : r.call?.(fn[1].toUpperCase(), fn[2]);
    if (value === undefined) {
      r.warn?.(`no function ${fn[1]} in the simulator`);
      value = '';
    }
  } else value = r.lookup(name) ?? '';
  return offset === undefined ? value : substring(value, offset, length);
}

/** `${VAR:offset:length}`: a negative offset counts from the end, a negative length stops short of it. */
export function substring(value: string, offset: number, length?: number): string {
  let start = offset < 0 ? Math.max(0, value.length + offset) : Math.min(offset, value.length);
  let end = value.length;
  if (length !== undefined && Number.isFinite(length)) end = length < 0 ? Math.max(start, value.length + length) : Math.min(value.length, start + length);
  if (start > end) start = end;
  return value.slice(start, end);
}

/** IF(condition?true-value:false-value) (func_logic.c); either value may be missing. */
function ifFunction(args: string): string {
  const q = args.indexOf('?');
  if (q < 0) return '';
  const condition = args.slice(0, q).trim();
  const rest = args.slice(q + 1);
  const c = rest.indexOf(':');
  const whenTrue = c < 0 ? rest : rest.slice(0, c);
  const whenFalse = c < 0 ? '' : rest.slice(c + 1);
  return expressionTrue(condition) ? whenTrue.trim() : whenFalse.trim();
}
