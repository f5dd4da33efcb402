import { PartyId, parseCallerId } from './channel';

/**
 * An application's arguments as AST_STANDARD_APP_ARGS splits them (`__ast_app_separate_args`
 * with remove_chars): commas separate, except inside parentheses, square brackets or double
 * quotes; the quotes themselves are removed, and a backslash escapes the next character.
 */
export function splitAppArgs(data: string): string[] {
  const args: string[] = [];
  let current = '';
  let paren = 0;
  let bracket = 0;
  let quote = false;
  for (let i = 0; i < data.length; i++) {
    const c = data[i];
    if (c === '(') paren++;
    else if (c === ')') paren = Math.max(0, paren - 1);
    else if (c === '[') bracket++;
    else if (c === ']') bracket = Math.max(0, bracket - 1);
    else if (c === '"') {
      quote = !quote;
      continue;
    } else if (c === '\\') {
      if (i + 1 < data.length) current += data[++i];
      continue;
    } else if (c === ',' && !paren && !bracket && !quote) {
      args.push(current);
      current = '';
      continue;
    }
    current += c;
  }
  args.push(current);
  return args;
}

/**
 * An options argument as ast_app_parse_options64 reads it: one letter per option, a letter
 * followed by `(…)` takes the text up to the matching parenthesis as its argument (`''` for
 * `f()`). Letters the caller does not look at are simply there, as Asterisk ignores unknown
 * ones too; an unclosed parenthesis leaves the option without argument.
 */
export function parseAppOptions(text: string): Map<string, string | undefined> {
  const options = new Map<string, string | undefined>();
  for (let i = 0; i < text.length; i++) {
    const letter = text[i];
    if (text[i + 1] !== '(') {
      options.set(letter, undefined);
      continue;
    }
    let depth = 1;
    let j = i + 2;
    for (; j < text.length && depth > 0; j++) {
      if (text[j] === '(') depth++;
      else if (text[j] === ')') depth--;
    }
    if (depth > 0) {
      options.set(letter, undefined);
      break;
    }
    options.set(letter, text.slice(i + 2, j - 1));
    i = j - 1;
  }
  return options;
}

/**
 * Dial's `f(x)` (app_dial.c, OPT_FORCECLID): with `x`, the dialled channel's connected line
 * (the identity its phone is sent as the caller) is `x` parsed as ast_callerid_parse does
 * (`name <num>`, or a bare number, or a bare name); a part that is absent stays empty
 * (`<unknown>` on AMI). Without `x` (`f` or `f()`) app_dial only forces the extension on call
 * forwards (`force_forwards_only`): a direct call is presented as without the option, so
 * undefined here, as when there is no `f` at all.
 */
export function forcedConnectedLine(options: Map<string, string | undefined>): PartyId | undefined {
  const x = options.get('f');
  if (x === undefined || x === '') return undefined;
  const parsed = parseCallerId(x);
  return parsed ? { num: parsed.num, name: parsed.name } : undefined;
}
