import { DomainError } from '@ringcloud/contracts-common';

/**
 * Every value written into an AMI header goes through here. AMI frames are CRLF-separated
 * `Key: value` lines ended by an empty line, so a CR or LF inside a value would end the header
 * and let the sender append headers or whole actions (`...\r\n\r\nAction: Hangup`): refused.
 * Other control characters are refused too; nothing legitimate needs them.
 */
const CONTROL = /[\x00-\x1f\x7f]/;
const HEADER_NAME = /^[A-Za-z][A-Za-z0-9-]{0,63}$/;
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export class AmiHeaderError extends DomainError {
  constructor(message: string) {
    super('BAD_REQUEST', message);
    this.name = 'AmiHeaderError';
  }
}

export type AmiActionFields = Record<string, string | number | boolean | Record<string, string>>;

export function assertHeaderValue(name: string, value: string): void {
  if (CONTROL.test(value)) throw new AmiHeaderError(`${name} contains characters that cannot be sent to the PBX`);
  if (value.length > 1024) throw new AmiHeaderError(`${name} is too long for the PBX`);
}

/**
 * Checks an action before it is written and returns it in the shape asterisk-manager sends:
 * `{ variable: { K: 'v' } }` becomes one `Variable: K=v` header each. Asterisk splits a
 * `Variable:` value on commas, so a comma would smuggle in another variable: refused as well.
 */
export function checkedAction(fields: AmiActionFields): Record<string, string | Record<string, string>> {
  const out: Record<string, string | Record<string, string>> = {};
  for (const [name, raw] of Object.entries(fields)) {
    if (!HEADER_NAME.test(name)) throw new AmiHeaderError(`invalid AMI header name`);
    if (typeof raw === 'object') {
      const variables: Record<string, string> = {};
      for (const [key, value] of Object.entries(raw)) {
        if (!VARIABLE_NAME.test(key)) throw new AmiHeaderError('invalid channel variable name');
        assertHeaderValue(key, value);
        if (value.includes(',')) throw new AmiHeaderError(`${key} may not contain a comma`);
        variables[key] = value;
      }
      out[name] = variables;
    } else {
      const value = String(raw);
      assertHeaderValue(name, value);
      out[name] = value;
    }
  }
  return out;
}
