/** A small levelled logger (the simulator has no NestJS): one line per message on stdout/stderr. */
export type LogLevel = 'error' | 'warn' | 'log' | 'debug' | 'verbose';

const ORDER: LogLevel[] = ['error', 'warn', 'log', 'debug', 'verbose'];

export interface Logger {
  error(message: string): void;
  warn(message: string): void;
  log(message: string): void;
  debug(message: string): void;
}

export function createLogger(level: LogLevel = 'log', name = 'pbx-simulator'): Logger {
  const max = ORDER.indexOf(level);
  const write = (lvl: LogLevel, message: string) => {
    if (ORDER.indexOf(lvl) > max) return;
    const line = `${new Date().toISOString()} ${lvl.toUpperCase().padEnd(5)} [${name}] ${message}\n`;
    (lvl === 'error' || lvl === 'warn' ? process.stderr : process.stdout).write(line);
  };
  return {
    error: (m) => write('error', m),
    warn: (m) => write('warn', m),
    log: (m) => write('log', m),
    debug: (m) => write('debug', m),
  };
}

/** For tests: records lines instead of printing them. */
export function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    error: (m) => lines.push(`error ${m}`),
    warn: (m) => lines.push(`warn ${m}`),
    log: (m) => lines.push(`log ${m}`),
    debug: (m) => lines.push(`debug ${m}`),
  };
}
