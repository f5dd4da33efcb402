import type { FastifyInstance } from 'fastify';

/**
 * v1 clients send JSON with whatever Content-Type they have (none, x-www-form-urlencoded,
 * text/plain …), so the gateway ignores the header and only collects the body as text, up to
 * `bodyLimit` (beyond: 413). JSON is parsed later, after authentication (json-body.ts).
 */
export function installRawBodyParser(fastify: FastifyInstance, bodyLimit: number): void {
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', { parseAs: 'string', bodyLimit }, (_request, body, done) => done(null, body));
  fastify.addHook('onRequest', (request, _reply, done) => {
    // One neutral type for every request: each body goes to the catch-all parser, a malformed
    // Content-Type (Fastify: 415) is as irrelevant as a well-formed one, and a QUERY without one
    // (Fastify: 400) reaches the router, which answers 405.
    request.raw.headers['content-type'] = 'application/octet-stream';
    done();
  });
}
