// Build step of docker/Dockerfile: compiles one app (and the libs and tools/db it may use) from
// TypeScript to CommonJS with swc — the same compiler and options as tools/register.cjs in
// development — into OUT, keeping the workspace layout (paths relative to __dirname still hold).
// @ringcloud/* imports are rewritten to relative paths, so the runtime needs neither swc nor
// tsconfig-paths: `node -r ./tools/register.cjs apps/X/src/main.ts` becomes `node apps/X/src/main.js`.
//   node docker/compile.cjs <app> <out-dir>
const { readdirSync, mkdirSync, writeFileSync } = require('node:fs');
const path = require('node:path');
const { transformFileSync } = require('@swc/core');

const root = path.resolve(__dirname, '..');
const [app, outArg] = process.argv.slice(2);
if (!app || !outArg) {
  console.error('usage: node docker/compile.cjs <app> <out-dir>');
  process.exit(64);
}
const out = path.resolve(outArg);
const { paths } = require(path.join(root, 'tsconfig.base.json')).compilerOptions;

function* sources(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== 'node_modules') yield* sources(full);
    else if (entry.isFile() && /\.ts$/.test(entry.name) && !/\.(spec|test)\.ts$|\.d\.ts$/.test(entry.name)) yield full;
  }
}

const roots = [path.join(root, 'apps', app, 'src'), path.join(root, 'libs'), path.join(root, 'tools', 'db')];
let count = 0;
for (const dir of roots) {
  for (const file of sources(dir)) {
    const { code } = transformFileSync(file, {
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
    const target = path.join(out, path.relative(root, file)).replace(/\.ts$/, '.js');
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, code);
    count++;
  }
}
console.log(`compile.cjs: ${app}: ${count} files → ${out}`);
