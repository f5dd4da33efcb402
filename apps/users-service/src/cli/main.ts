import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { runCli } from './cli';

// Whatever a shared class logs goes to stderr: stdout carries only the result.
const toStderr = (message: unknown) => void process.stderr.write(`${String(message)}\n`);
Logger.overrideLogger({ log: toStderr, warn: toStderr, error: toStderr, debug: () => undefined, verbose: () => undefined });

/**
 * `npm run -s cli -- <verbs>` in a checkout; `node apps/users-service/src/cli/main.js <verbs>` in the
 * users-service image (compiled by docker/compile.cjs). stdout carries only the result, everything else
 * goes to stderr.
 */
runCli(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`error: ${err.message}\n`);
    process.exitCode = 1;
  },
);
