import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Logger } from '@nestjs/common';
import { Metrics, withRequestId } from '@ringcloud/nest-observability';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** A client's X-Request-Id is kept when it is a sane token, so traces join up across systems. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

export function requestIdFor(raw: IncomingMessage): string {
  const given = raw.headers['x-request-id'];
  return typeof given === 'string' && SANE_REQUEST_ID.test(given) ? given : randomUUID();
}

const accessLogger = new Logger('Access');

/**
 * One access-log line per request: method, path without the query string (it carries api_key and
 * hash), status, duration, request id, client address. Bodies, keys and tokens are never logged.
 */
export function accessLogLine(request: FastifyRequest, reply: FastifyReply): string {
  const rawPath = maskApiKeys(request.url.split('?', 1)[0]);
  const path = rawPath.length > 200 ? `${rawPath.slice(0, 200)}…` : rawPath;
  const ms = reply.elapsedTime.toFixed(1);
  return `${request.method} ${printable(path)} ${reply.statusCode} ${ms}ms id=${request.id} client=${request.ip}`;
}

const printable = (s: string) => s.replace(/[^\x21-\x7e…]/g, '?');

/**
 * Key management URLs carry an API key in the path (`/v1/keys/<key>/disable`, `/admin/v1/keys/<key>`):
 * the log keeps its account and drops the rest — wherever the key stands in a segment (a pasted key
 * with a trailing space, `..%2F<key>`) and however it was percent-encoded.
 */
export function maskApiKeys(path: string): string {
  return path
    .split('/')
    .map((segment) => {
      const decoded = percentDecodedBytes(segment);
      return KEY_SHAPED.test(decoded) ? decoded.replace(KEY_SHAPED_ALL, '$1_***') : segment;
    })
    .join('/');
}

/** Anything that may be a key (ApiKeyString's shape, unanchored: more may stand around it). */
const KEY_SHAPED = /([0-9]+)_[A-Za-z0-9]{8,}/;
const KEY_SHAPED_ALL = new RegExp(KEY_SHAPED.source, 'g');

/** Each valid `%XX` as its byte (keys are ASCII), the rest as is: a stray `%zz` hides nothing. */
const percentDecodedBytes = (segment: string) => segment.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));

export const logAccess = (request: FastifyRequest, reply: FastifyReply) => accessLogger.log(accessLogLine(request, reply));

/** The route id of a v1 request (set by its pipeline), else the matched URL pattern. */
const ROUTE_ID = Symbol('routeId');
export const setRouteId = (request: FastifyRequest, id: string) => ((request as any)[ROUTE_ID] = id);
const routeIdOf = (request: FastifyRequest): string => (request as any)[ROUTE_ID] ?? request.routeOptions?.url ?? 'unmatched';

export function installRequestContext(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    reply.header('X-Request-Id', request.id);
    // Everything this request does (logs, NATS requests) carries its id.
    withRequestId(request.id, done);
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    logAccess(request, reply);
    const labels = { route: routeIdOf(request), method: request.method, status: String(reply.statusCode) };
    Metrics.httpRequests().inc(labels);
    Metrics.httpDuration().observe(labels, reply.elapsedTime / 1000);
    done();
  });
}
