import { parseArgs } from 'node:util';
import { z } from 'zod';
import { Access, AccountId, DomainError, UserName, firstIssueMessage } from '@ringcloud/contracts-common';
import { ApiKeyInfo, ApiKeyString, NumberInfo, PhoneNumber, UsersAccountCreate } from '@ringcloud/contracts-users';
import { BestEffortNatsNotifier } from '../api-keys/best-effort-notifier';
import { loadUsersConfig } from '../config/users-config';
import { UsersCore, openUsersCore } from '../users-core';
import { createApiKey, ensureDemoKeys } from './demo-keys';

export const USAGE = `usage: npm run -s cli -- <verb> [options] [--json]        (in a checkout)
       node apps/users-service/src/cli/main.js <verb> …      (in the users-service image)
  accounts create [--id N] --name X
  accounts list
  keys create --account N --access RO|RW      (creates the account if missing)
  keys list --account N
  keys disable|enable|delete|regenerate --key K
  keys ensure-demo [--account 1001]           (one RW + one RO key, passwords regenerated to show them)
  numbers list [--account N]                  (assigned inbound numbers, all or one account's)
  numbers assign --number X --account N --user U
  numbers reassign --number X --user U [--account N]   (--account moves it to another account)
  numbers release --number X
  users delete --account N --user U           (tombstoned: its phone is deprovisioned, its numbers released)
--json prints exactly one JSON line on stdout.
Numbers are E.164 (a leading + is optional). Their routing events, and a deleted user's, go out through
the outbox, published by a running users-service within OUTBOX_SWEEP_MS.
env: USERS_DATABASE_URL, API_KEY_PEPPER (must match the service's), NATS_URL (key change broadcast, best effort)`;

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

class UsageError extends Error {}

const OPTIONS = {
  id: { type: 'string' },
  name: { type: 'string' },
  account: { type: 'string' },
  access: { type: 'string' },
  key: { type: 'string' },
  number: { type: 'string' },
  user: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** Runs one CLI invocation; resolves with the exit code (0 ok, 1 failed, 2 usage). */
export async function runCli(argv: string[], io: CliIo, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    io.err(`error: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length === 0) {
    (values.help ? io.out : io.err)(USAGE);
    return values.help ? 0 : 2;
  }
  let core: UsersCore | undefined;
  try {
    const config = loadUsersConfig(env, (line) => io.err(`warning: ${line}`), ['API_KEY_PEPPER']);
    core = openUsersCore(config, new BestEffortNatsNotifier(config.natsUrl, (line) => io.err(`warning: ${line}`)));
    // Connect (and start Prisma's query compiler) before any verb: done inside the first transaction, a
    // fresh process on a busy machine can exceed the transaction's 2 s maxWait ("Unable to start a
    // transaction in the given time"), as the container smoke test saw on a loaded 2-core machine.
    await core.prisma.$queryRaw`SELECT 1`;
    const result = await dispatch(core, positionals, values);
    io.out(values.json ? JSON.stringify(result.json) : result.text);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`error: ${err.message}\n${USAGE}`);
      return 2;
    }
    io.err(`error: ${describe(err, env)}`);
    return 1;
  } finally {
    await core?.close().catch(() => undefined);
  }
}

type Values = { id?: string; name?: string; account?: string; access?: string; key?: string; number?: string; user?: string };
type Result = { json: unknown; text: string };

async function dispatch(core: UsersCore, [noun, verb, ...extra]: string[], values: Values): Promise<Result> {
  if (extra.length) throw new UsageError(`unexpected argument ${extra[0]}`);
  const command = `${noun} ${verb ?? ''}`.trim();
  switch (command) {
    case 'accounts create': {
      const req = parse(UsersAccountCreate.contract.request, {
        name: required(values.name, '--name'),
        ...(values.id !== undefined && { account_id: accountId(values.id, '--id') }),
      });
      const account = await core.accounts.create(req);
      return { json: account, text: `account ${account.account_id} "${account.name}" created` };
    }
    case 'accounts list': {
      const accounts = await core.accounts.list();
      return {
        json: accounts,
        text: accounts.length ? accounts.map((a) => `${a.account_id}\t${a.name}\tcreated ${a.created_at}`).join('\n') : 'no accounts',
      };
    }
    case 'keys create': {
      const account = accountId(required(values.account, '--account'), '--account');
      const access = parse(Access, required(values.access, '--access'), '--access must be RO or RW');
      const key = await createApiKey(core, account, access);
      return { json: key, text: `api_key=${key.api_key} password=${key.password} access=${key.access} (the password is shown only now)` };
    }
    case 'keys list': {
      const keys = await core.apiKeys.list(accountId(required(values.account, '--account'), '--account'));
      return { json: keys, text: keys.length ? keys.map(keyLine).join('\n') : 'no keys' };
    }
    case 'keys disable':
    case 'keys enable': {
      const info = await core.apiKeys.setEnabled(apiKey(values.key), verb === 'enable');
      return { json: info, text: keyLine(info) };
    }
    case 'keys delete': {
      const key = apiKey(values.key);
      await core.apiKeys.delete(key);
      return { json: { deleted: key }, text: `key ${key} deleted` };
    }
    case 'keys regenerate': {
      const key = await core.apiKeys.regenerate(apiKey(values.key));
      return { json: key, text: `api_key=${key.api_key} password=${key.password} access=${key.access} (the old password no longer works)` };
    }
    case 'keys ensure-demo': {
      const demo = await ensureDemoKeys(core, values.account === undefined ? undefined : accountId(values.account, '--account'));
      return {
        json: demo,
        text: demo.keys.map((k) => `account ${demo.account_id} ${k.access} api_key=${k.api_key} password=${k.password}`).join('\n'),
      };
    }
    case 'numbers list': {
      const numbers = await core.numbers.list(values.account === undefined ? undefined : accountId(values.account, '--account'));
      return { json: numbers, text: numbers.length ? numbers.map(numberLine).join('\n') : 'no numbers' };
    }
    case 'numbers assign': {
      const number = phoneNumber(values.number);
      const account = accountId(required(values.account, '--account'), '--account');
      const info = await core.numbers.assign({ number, account_id: account, user: userName(values.user) });
      return { json: info, text: numberLine(info) };
    }
    case 'numbers reassign': {
      const number = phoneNumber(values.number);
      const user = userName(values.user);
      const account = values.account === undefined ? undefined : accountId(values.account, '--account');
      const info = await core.numbers.reassign({ number, user, ...(account !== undefined && { account_id: account }) });
      return { json: info, text: numberLine(info) };
    }
    case 'numbers release': {
      const number = phoneNumber(values.number);
      await core.numbers.release(number);
      return { json: { released: number }, text: `number ${number} released` };
    }
    case 'users delete': {
      const account = accountId(required(values.account, '--account'), '--account');
      const user = userName(values.user);
      await core.users.delete(account, user);
      return { json: { deleted: user, account_id: account }, text: `user ${user} of account ${account} deleted` };
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

function keyLine(k: ApiKeyInfo): string {
  return `${k.api_key}\t${k.access}\t${k.enabled ? 'enabled' : 'disabled'}\tcreated ${k.created_at}\tpassword changed ${k.password_changed_at}`;
}

function numberLine(n: NumberInfo): string {
  return `${n.number}\taccount ${n.account_id}\tuser ${n.user}\text ${n.num}\tassigned ${n.assigned_at}`;
}

function required(value: string | undefined, flag: string): string {
  if (value === undefined || value === '') throw new UsageError(`${flag} is required`);
  return value;
}

function accountId(value: string, flag: string): number {
  if (!/^[0-9]+$/.test(value)) throw new UsageError(`${flag} must be a positive account number`);
  return parse(AccountId, Number(value), `${flag} must be a positive account number`);
}

function apiKey(value: string | undefined): string {
  return parse(ApiKeyString, required(value, '--key'), '--key is not an API key (<account>_<random>)');
}

function phoneNumber(value: string | undefined): string {
  return parse(PhoneNumber, required(value, '--number'), '--number must be an E.164 phone number: 5 to 15 digits, optionally with a leading +');
}

function userName(value: string | undefined): string {
  return parse(UserName, required(value, '--user'), '--user must be a numeric user name');
}

function parse<S extends z.ZodType>(schema: S, value: unknown, message?: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new UsageError(message ?? firstIssueMessage(result.error));
  return result.data;
}

/** One clear line; database connection problems name the server (never its password) and the fix. */
function describe(err: unknown, env: NodeJS.ProcessEnv): string {
  if (err instanceof DomainError) return err.message;
  const e = err as { code?: string; message?: string };
  const text = `${e?.code ?? ''} ${e?.message ?? String(err)}`;
  if (/ECONNREFUSED|P1001|ENOTFOUND|Can't reach database|ETIMEDOUT|DatabaseNotReachable|does not exist.*database|database .* does not exist/i.test(text)) {
    return `cannot reach the users database (${safeUrl(env.USERS_DATABASE_URL)}): ${firstLine(e?.message)}`;
  }
  if (/P2021|relation .* does not exist|table .* does not exist/i.test(text)) {
    return `the users tables are missing: run "npm run db:migrate" first (${firstLine(e?.message)})`;
  }
  return firstLine(e?.message) || String(err);
}

function safeUrl(url: string | undefined): string {
  if (!url) return 'default postgresql://127.0.0.1:5432/ringcloud?schema=users';
  try {
    const u = new URL(url);
    u.password = '';
    u.username = '';
    return u.toString();
  } catch {
    return 'USERS_DATABASE_URL';
  }
}

function firstLine(message: string | undefined): string {
  return (message ?? '').trim().split('\n').filter(Boolean).pop() ?? '';
}
