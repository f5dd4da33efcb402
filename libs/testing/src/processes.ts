import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';

export const WORKSPACE_ROOT = path.resolve(__dirname, '../../..');

/** A port the OS says is free right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface RunningProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logFile: string;
  /** Resolves with the exit code once the process has exited. */
  readonly exited: Promise<number | null>;
  /** Sends `signal` and waits for the exit (SIGKILL after `graceMs`). */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | null>;
}

let counter = 0;

/**
 * Spawns a long-running process with its output in a log file under tmp/logs (so a failing
 * test can be read afterwards) and, when `echo` is set, prefixed on this process's stdout.
 */
export function spawnProcess(
  name: string,
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; echo?: boolean; logDir?: string } = {},
): RunningProcess {
  const logDir = options.logDir ?? path.join(WORKSPACE_ROOT, 'tmp', 'logs');
  mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir, `${name}-${process.pid}-${++counter}.log`);
  const log = createWriteStream(logFile);
  const child = spawn(command, args, {
    cwd: options.cwd ?? WORKSPACE_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout!, child.stderr!]) {
    stream.pipe(log, { end: false });
    if (options.echo) {
      stream.on('data', (chunk: Buffer) => {
        for (const line of chunk.toString().split('\n')) if (line) process.stdout.write(`[${name}] ${line}\n`);
      });
    }
  }
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => {
      log.end();
      resolve(code);
    });
    child.on('error', () => resolve(null));
  });
  return {
    name,
    child,
    logFile,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/**
 * Runs one of the workspace's TypeScript entry points (an app's main.ts) with the dev loader.
 * `STACK_CPU_PROF=api-gateway,telephony-adapter` (app names, or `all`) profiles those apps: V8 writes
 * a `.cpuprofile` (Chrome DevTools, speedscope) to `<STACK_CPU_PROF_DIR>/<app>/` (tmp/cpu-prof) when they exit.
 */
export function spawnApp(name: string, entry: string, env: NodeJS.ProcessEnv, echo = false): RunningProcess {
  return spawnProcess(name, process.execPath, [...cpuProfileArgs(name), '-r', './tools/register.cjs', entry], { env, echo });
}

function cpuProfileArgs(name: string): string[] {
  const apps = (process.env.STACK_CPU_PROF ?? '').split(',').map((a) => a.trim());
  if (!apps.includes(name) && !apps.includes('all')) return [];
  const dir = path.resolve(WORKSPACE_ROOT, process.env.STACK_CPU_PROF_DIR ?? 'tmp/cpu-prof');
  return ['--cpu-prof', `--cpu-prof-dir=${path.join(dir, name)}`];
}

type Check<T> = () => Promise<T | undefined | false> | T | undefined | false;

/**
 * Polls `check` every `intervalMs` until it returns something truthy, or fails after `timeoutMs`
 * with the last error `check` threw (a throwing check is retried like a falsy one).
 */
export async function eventually<T>(check: Check<T>, timeoutMs = 5000, what = 'condition', intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`${what} not met in time${lastError ? `: ${(lastError as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** `eventually`, named first, with the longer default that process start-ups need. */
export function waitFor<T>(what: string, check: Check<T>, timeoutMs = 30_000): Promise<T> {
  return eventually(check, timeoutMs, what, 100);
}

/** Waits until `url` answers with `status` (default 200). */
export function waitForHttp(url: string, timeoutMs = 30_000, status = 200): Promise<true> {
  return waitFor(
    url,
    async () => {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      return res.status === status || undefined;
    },
    timeoutMs,
  );
}
