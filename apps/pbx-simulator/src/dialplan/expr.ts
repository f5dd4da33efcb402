/**
 * Asterisk's `$[...]` expressions (main/ast_expr2.y), the part dial plans here use: string and
 * number operands (a double-quoted string loses its quotes), comparison `= != < > <= >=` (numeric
 * when both sides are numbers, else by string), `& |` (an operand is true unless empty or "0";
 * `&` gives the left operand or 0, `|` the left operand if true, else the right one),
 * `+ - * / %` on integers, unary `-` and `!`, and parentheses. Results are strings, as Asterisk
 * substitutes them. Anything else is a syntax error (thrown), which the caller reports.
 */

type Token = { kind: 'op'; value: string } | { kind: 'val'; value: string };

const OPERATORS = ['<=', '>=', '!=', '=~', '==', '|', '&', '=', '<', '>', '+', '-', '*', '/', '%', '!', '(', ')'];

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '"') {
      const end = text.indexOf('"', i + 1);
      if (end < 0) throw new Error(`unterminated string in $[${text}]`);
      out.push({ kind: 'val', value: text.slice(i + 1, end) });
      i = end + 1;
      continue;
    }
    const op = OPERATORS.find((o) => text.startsWith(o, i));
    if (op) {
      if (op === '=~') throw new Error('regular expressions are not supported in $[...]');
      out.push({ kind: 'op', value: op === '==' ? '=' : op });
      i += op.length;
      continue;
    }
    let j = i;
    while (j < text.length && !/\s/.test(text[j]) && text[j] !== '"' && !OPERATORS.some((o) => text.startsWith(o, j))) j++;
    out.push({ kind: 'val', value: text.slice(i, j) });
    i = j;
  }
  return out;
}

const isNumber = (v: string) => /^[-+]?\d+(\.\d+)?$/.test(v.trim());
const truthy = (v: string) => v !== '' && !(isNumber(v) && Number(v) === 0);
const num = (v: string) => {
  if (!isNumber(v)) throw new Error(`not a number: '${v}'`);
  return Number(v);
};

/** Evaluates the text between `$[` and `]` (already substituted). */
export function evaluateExpression(text: string): string {
  const tokens = tokenize(text);
  let pos = 0;
  const peek = () => tokens[pos];
  const isOp = (...ops: string[]) => peek()?.kind === 'op' && ops.includes(peek()!.value);

  const primary = (): string => {
    const t = tokens[pos++];
    if (!t) throw new Error(`unexpected end of $[${text}]`);
    if (t.kind === 'val') return t.value;
    if (t.value === '(') {
      const v = or();
      if (!isOp(')')) throw new Error(`missing ) in $[${text}]`);
      pos++;
      return v;
    }
    if (t.value === '-') return String(-num(primary()));
    if (t.value === '!') return truthy(primary()) ? '0' : '1';
    throw new Error(`unexpected '${t.value}' in $[${text}]`);
  };
  const mul = (): string => {
    let v = primary();
    while (isOp('*', '/', '%')) {
      const op = tokens[pos++].value;
      const r = num(primary());
      const l = num(v);
      if ((op === '/' || op === '%') && r === 0) throw new Error('division by zero');
      v = String(op === '*' ? l * r : op === '/' ? Math.trunc(l / r) : l % r);
    }
    return v;
  };
  const add = (): string => {
    let v = mul();
    while (isOp('+', '-')) {
      const op = tokens[pos++].value;
      const r = num(mul());
      v = String(op === '+' ? num(v) + r : num(v) - r);
    }
    return v;
  };
  const cmp = (): string => {
    let v = add();
    while (isOp('=', '!=', '<', '>', '<=', '>=')) {
      const op = tokens[pos++].value;
      const r = add();
      const numeric = isNumber(v) && isNumber(r);
      const d = numeric ? Number(v) - Number(r) : v < r ? -1 : v > r ? 1 : 0;
      const result = { '=': d === 0, '!=': d !== 0, '<': d < 0, '>': d > 0, '<=': d <= 0, '>=': d >= 0 }[op]!;
      v = result ? '1' : '0';
    }
    return v;
  };
  const and = (): string => {
    let v = cmp();
    while (isOp('&')) {
      pos++;
      const r = cmp();
      v = truthy(v) && truthy(r) ? v : '0';
    }
    return v;
  };
  const or = (): string => {
    let v = and();
    while (isOp('|')) {
      pos++;
      const r = and();
      v = truthy(v) ? v : truthy(r) ? r : '0';
    }
    return v;
  };

  if (tokens.length === 0) return '';
  const result = or();
  if (pos !== tokens.length) throw new Error(`unexpected '${tokens[pos].value}' in $[${text}]`);
  return result;
}

export { truthy as expressionTrue };
