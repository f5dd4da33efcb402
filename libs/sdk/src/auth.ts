import { createHash } from 'node:crypto';

/** The v1 hash: lowercase hex md5 of api_key + password (plain concatenation, UTF-8). */
export function v1Hash(apiKey: string, password: string): string {
  return createHash('md5').update(apiKey + password, 'utf8').digest('hex');
}

/** The account id a key belongs to: keys are `<account_id>_<random>`. */
export function accountIdOfKey(apiKey: string): number | null {
  const match = /^([0-9]+)_/.exec(apiKey);
  return match ? Number(match[1]) : null;
}
