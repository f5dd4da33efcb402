import type { AmiMessage } from 'asterisk-manager';

export type { AmiMessage };

/**
 * Reading AMI messages as asterisk-manager hands them over: keys lower-cased, repeated keys as
 * arrays, and `Variable:` headers folded into an object (`VarSet`'s `Variable: RC_CALL_ID`
 * arrives as `{ RC_CALL_ID: '' }` with the value under `value`).
 */

/** One header as a string ('' when absent; the first value when repeated). */
export function field(message: AmiMessage, key: string): string {
  const value = message[key.toLowerCase()];
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value[0] ?? '';
  return '';
}

/** The event name, lower-cased (`newchannel`), or '' for responses. */
export function eventName(message: AmiMessage): string {
  return field(message, 'event').toLowerCase();
}

/** `VarSet`: the variable's name and value. */
export function varSet(message: AmiMessage): { name: string; value: string } | null {
  const variable = message.variable;
  let name = '';
  if (typeof variable === 'string') name = variable;
  else if (variable && !Array.isArray(variable)) name = Object.keys(variable)[0] ?? '';
  return name ? { name, value: field(message, 'value') } : null;
}

/** `Getvar` response's value (asterisk-manager folds `Variable:` the same way). */
export function getvarValue(message: AmiMessage | undefined): string | undefined {
  if (!message || field(message, 'response').toLowerCase() !== 'success') return undefined;
  return field(message, 'value');
}

/** Asterisk prints unknown caller ids as `<unknown>`. */
export const isUnknown = (value: string) => value === '' || value === '<unknown>';
