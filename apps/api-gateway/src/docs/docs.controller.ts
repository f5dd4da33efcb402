import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Controller, Get, Inject, Param, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { RateLimit } from '../config';
import { HttpProblem } from '../http/http-problem';
import { RATE_LIMITS } from '../tokens';
import { servedOpenApiDocument } from './served-document';

/** Swagger UI's files, served from the swagger-ui-dist package (no CDN): only these names. */
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'application/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'application/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>RingCloud API v1</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/swagger-ui-standalone-preset.js"></script>
  <script>
    window.ui = SwaggerUIBundle({
      url: '/docs/openapi.json',
      dom_id: '#swagger-ui',
      deepLinking: true,
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
      layout: 'StandaloneLayout',
    });
  </script>
</body>
</html>
`;

@Controller('docs')
export class DocsController {
  private readonly document: Record<string, unknown>;
  private readonly assetDir: string = require('swagger-ui-dist').getAbsoluteFSPath();

  constructor(@Inject(RATE_LIMITS) limits: ReadonlyMap<string, RateLimit>) {
    this.document = servedOpenApiDocument(limits);
  }

  @Get('openapi.json')
  openapi() {
    return this.document;
  }

  @Get()
  page(@Res() reply: FastifyReply): void {
    reply.header('Content-Type', 'text/html; charset=utf-8').send(PAGE);
  }

  @Get(':asset')
  asset(@Param('asset') name: string, @Res() reply: FastifyReply): void {
    const type = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
    if (!type) throw HttpProblem.notFound();
    reply
      .header('Content-Type', type)
      .header('Cache-Control', 'public, max-age=86400')
      .send(readFileSync(join(this.assetDir, name)));
  }
}
