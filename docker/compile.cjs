// Build step of docker/Dockerfile: lays out one app's image under OUT (copied to /app in the image).
// TypeScript is compiled to CommonJS with swc — the same compiler and options as tools/register.cjs in
// development — keeping the workspace layout (paths relative to __dirname still hold). @ringcloud/*
// imports are rewritten to relative paths, so the runtime needs neither swc nor tsconfig-paths:
// `node -r ./tools/register.cjs apps/X/src/main.ts` becomes `node apps/X/src/main.js`.
//   node docker/compile.cjs <app> <out-dir>
// `layout(app)` says what the image holds without building it: tools/k8s checks every command the
// compose file and the Kubernetes manifests run against it (npm test has no container engine).
const { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const APPS = ['api-gateway', 'users-service', 'calls-service', 'telephony-adapter', 'pbx-simulator', 'webhooks-service'];

/** Plain files every image carries as they are (container helpers). */
const AS_IS = ['docker/healthcheck.cjs', 'docker/selfsigned-cert.cjs'];
/** tools/db: only what `node tools/db/migrate.js` loads. */
const TOOLS = ['tools/db/migrate.ts', 'tools/db/migrations.ts', 'tools/db/database-url.ts'];

function* files(dir, accept) {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, entry.name);
    // Test helpers (apps/*/src/testing, libs/testing) never run in an image.
    if (entry.isDirectory() && !['node_modules', 'testing'].includes(entry.name)) yield* files(full, accept);
    else if (entry.isFile() && accept(entry.name)) yield full;
  }
}
const isSource = (name) => /\.ts$/.test(name) && !/\.(spec|test)\.ts$|\.d\.ts$/.test(name);
const rel = (file) => path.relative(root, file).split(path.sep).join('/');

/**
 * What the image of `app` holds under /app (besides node_modules and package.json), as
 * [{ target, source, kind: 'compile' | 'copy' }] with repository-relative paths.
 */
function layout(app) {
  if (!APPS.includes(app)) throw new Error(`unknown app "${app}" (one of ${APPS.join(', ')})`);
  const entries = [];
  const compiled = (file) => entries.push({ source: rel(file), target: rel(file).replace(/\.ts$/, '.js'), kind: 'compile' });
  const copied = (file) => entries.push({ source: rel(file), target: rel(file), kind: 'copy' });
  for (const file of files(path.join(root, 'apps', app, 'src'), isSource)) compiled(file);
  for (const file of files(path.join(root, 'libs'), isSource)) compiled(file);
  for (const file of TOOLS) compiled(path.join(root, file));
  // Every service's migrations, in Prisma's layout: `node tools/db/migrate.js` in any image migrates all.
  for (const svc of APPS) for (const file of files(path.join(root, 'apps', svc, 'prisma', 'migrations'), () => true)) copied(file);
  for (const file of AS_IS) copied(path.join(root, file));
  // The account page's static files (apps/api-gateway/src/account/static), served as they are.
  if (app === 'api-gateway') for (const file of files(path.join(root, 'apps', app, 'src', 'account', 'static'), () => true)) copied(file);
  // The simulator executes the shipped Asterisk configuration (its dial plan, trunk, AMI classes).
  if (app === 'pbx-simulator') for (const file of files(path.join(root, 'docker', 'asterisk'), (n) => !n.endsWith('.md'))) copied(file);
  return entries;
}

function build(app, out) {
  const { transformFileSync } = require('@swc/core');
  const { paths } = require(path.join(root, 'tsconfig.base.json')).compilerOptions;
  const entries = layout(app);
  for (const { source, target, kind } of entries) {
    const dest = path.join(out, target);
    mkdirSync(path.dirname(dest), { recursive: true });
    if (kind === 'copy') {
      copyFileSync(path.join(root, source), dest);
      continue;
    }
    const { code } = transformFileSync(path.join(root, source), {
      swcrc: false,
      sourceMaps: false,
      module: { type: 'commonjs' },
      jsc: {
        target: 'es2022',
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true },
        baseUrl: root,
        paths,
      },
    });
    writeFileSync(dest, code);
  }
  console.log(`compile.cjs: ${app}: ${entries.length} files → ${out}`);
}

module.exports = { APPS, layout };

if (require.main === module) {
  const [app, outArg] = process.argv.slice(2);
  if (!app || !outArg) {
    console.error('usage: node docker/compile.cjs <app> <out-dir>');
    process.exit(64);
  }
  build(app, path.resolve(outArg));
}
