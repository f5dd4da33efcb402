import path from 'node:path';
import { defineConfig } from 'prisma/config';

// process.env, not env(): generate must work without a database URL.
export default defineConfig({
  schema: path.join(__dirname, 'prisma', 'schema.prisma'),
  migrations: { path: path.join(__dirname, 'prisma', 'migrations') },
  datasource: { url: process.env.WEBHOOKS_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/ringcloud?schema=webhooks' },
});
