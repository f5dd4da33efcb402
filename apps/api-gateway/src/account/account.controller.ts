import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Controller, Get, Param, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { HttpProblem } from '../http/http-problem';

/** The page's files (static/), read once at start-up: only these names are served. */
const ASSETS: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'md5.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};

/**
 * No inline script or style, no other origin, no framing; blob: only for the audio player (a
 * recording fetched with the key's credentials). Forms never submit by themselves.
 */
export const ACCOUNT_PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': ACCOUNT_PAGE_CSP,
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), payment=()',
  // Small files: always revalidated, so a new release is picked up at once.
  'Cache-Control': 'no-cache',
};

/**
 * `/account`: the account owner's page (static files, no build step). It signs in with a RW key
 * and calls the public v1 API from the browser, like any client; the gateway only serves files.
 */
@Controller('account')
export class AccountController {
  private readonly files = new Map(Object.keys(ASSETS).map((name) => [name, readFileSync(join(__dirname, 'static', name))]));

  @Get()
  page(@Res() reply: FastifyReply): void {
    this.send(reply, 'index.html');
  }

  @Get(':asset')
  asset(@Param('asset') name: string, @Res() reply: FastifyReply): void {
    this.send(reply, name);
  }

  private send(reply: FastifyReply, name: string): void {
    const body = Object.hasOwn(ASSETS, name) ? this.files.get(name) : undefined;
    if (!body) throw HttpProblem.notFound();
    reply.headers(SECURITY_HEADERS).header('Content-Type', ASSETS[name]).send(body);
  }
}
