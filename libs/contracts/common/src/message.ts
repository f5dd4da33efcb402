import type { z } from 'zod';

/**
 * One namespace per message: its subject, and the schemas that both sides validate with.
 * `Request`/`Response` types are derived with `RequestOf<typeof X>` / `ResponseOf<typeof X>`.
 */
export interface CommandContract<Req extends z.ZodType, Res extends z.ZodType> {
  readonly subject: string;
  readonly request: Req;
  readonly response: Res;
}

export interface EventContract<Ev extends z.ZodType> {
  readonly subject: string;
  readonly event: Ev;
}

export type RequestOf<C> = C extends CommandContract<infer Req, z.ZodType> ? z.output<Req> : never;
export type ResponseOf<C> = C extends CommandContract<z.ZodType, infer Res> ? z.output<Res> : never;
export type EventOf<C> = C extends EventContract<infer Ev> ? z.output<Ev> : never;

export function command<Req extends z.ZodType, Res extends z.ZodType>(
  subject: string,
  request: Req,
  response: Res,
): CommandContract<Req, Res> {
  assertSubject(subject);
  return { subject, request, response };
}

export function event<Ev extends z.ZodType>(subject: string, schema: Ev): EventContract<Ev> {
  assertSubject(subject);
  return { subject, event: schema };
}

const SUBJECT = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;

function assertSubject(subject: string): void {
  if (!SUBJECT.test(subject)) throw new Error(`invalid subject "${subject}"`);
}

/**
 * Escapes a value for use as one NATS subject token: anything outside [A-Za-z0-9_-]
 * (dots, wildcards, whitespace, CR/LF) becomes `~xx` hex, so user input can never change the
 * subject's shape.
 */
export function subjectToken(value: string): string {
  if (value === '') return '~';
  return value.replace(/[^A-Za-z0-9_-]/g, (c) =>
    Array.from(new TextEncoder().encode(c))
      .map((b) => `~${b.toString(16).padStart(2, '0')}`)
      .join(''),
  );
}

/** Every service answers `<service>.health.ping` so the gateway's /readyz can tell it is there. */
export const healthSubject = (service: string) => `${service}.health.ping`;
