import type { LoggerService } from '@nestjs/common';
import pino, { DestinationStream, Logger as Pino } from 'pino';
import { currentRequestId } from './correlation';
import { redactText, redactValue } from './redact';

export type LogLevel = 'error' | 'warn' | 'log' | 'debug' | 'verbose';
export type LogFormat = 'json' | 'pretty';

/** LOG_FORMAT, or its default: JSON in production, a readable line elsewhere. */
export function logFormatFrom(env: NodeJS.ProcessEnv = process.env): LogFormat {
  const given = env.LOG_FORMAT;
  if (given === 'json' || given === 'pretty') return given;
  return env.NODE_ENV === 'production' ? 'json' : 'pretty';
}

const PINO_LEVEL: Record<LogLevel, pino.Level> = { error: 'error', warn: 'warn', log: 'info', debug: 'debug', verbose: 'trace' };

export interface AppLoggerOptions {
  app: string;
  level: LogLevel;
  format?: LogFormat;
  /** Where lines go (stdout by default; tests pass a memory stream). */
  destination?: DestinationStream;
}

/**
 * The Nest LoggerService of every app, backed by pino: one JSON object per line (or a readable
 * line with LOG_FORMAT=pretty), the request id of the work in progress as `req_id`, and secrets
 * redacted from both the fields and the message text.
 */
export class AppLogger implements LoggerService {
  readonly pino: Pino;

  constructor(private readonly options: AppLoggerOptions) {
    const format = options.format ?? logFormatFrom();
    this.pino = pino(
      {
        level: PINO_LEVEL[options.level],
        base: { app: options.app },
        messageKey: 'msg',
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
        mixin: () => {
          const id = currentRequestId();
          return id ? { req_id: id } : {};
        },
        hooks: { logMethod: (args, method) => method.apply(this.pino, args.map((a) => redactValue(a)) as [string]) },
      },
      options.destination ?? (format === 'pretty' ? prettyStream() : pino.destination({ fd: 1, sync: true })),
    );
  }

  log(message: unknown, ...rest: unknown[]) {
    this.write('info', message, rest);
  }
  error(message: unknown, ...rest: unknown[]) {
    this.write('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]) {
    this.write('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]) {
    this.write('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]) {
    this.write('trace', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]) {
    this.write('fatal', message, rest);
  }

  /** Nest passes `(message, ...optional, context)`; errors add a stack before the context. */
  private write(level: pino.Level, message: unknown, rest: unknown[]) {
    const args = [...rest];
    const context = args.length > 0 && typeof args[args.length - 1] === 'string' ? (args.pop() as string) : undefined;
    const fields: Record<string, unknown> = {};
    if (context) fields.context = context;
    const stack = args.find((a) => typeof a === 'string' && a.includes('\n    at '));
    if (stack) fields.stack = stack;
    if (message instanceof Error) {
      fields.err = message;
      this.pino[level](fields, message.message);
    } else if (typeof message === 'object' && message !== null) {
      this.pino[level]({ ...fields, ...(message as object) });
    } else {
      this.pino[level](fields, String(message));
    }
  }
}

/** A readable line for development: `time LEVEL [context] message (req_id)`. */
function prettyStream(): DestinationStream {
  return {
    write(line: string) {
      const { time, level, context, msg, req_id, stack, err, app: _app, pid: _pid, hostname: _host, ...extra } = JSON.parse(line);
      const parts = [time, String(level).toUpperCase().padEnd(5), context ? `[${context}]` : '', msg ?? '', req_id ? `req_id=${req_id}` : ''];
      if (Object.keys(extra).length) parts.push(JSON.stringify(extra));
      let out = parts.filter(Boolean).join(' ');
      if (stack || err?.stack) out += `\n${stack ?? err.stack}`;
      process.stdout.write(`${out}\n`);
    },
  };
}

/** Redacts a string for callers that write outside the logger (startup failures on stderr). */
export const safeText = redactText;
