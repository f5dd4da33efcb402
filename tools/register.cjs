// Runs TypeScript sources directly (dev servers, CLI, scripts): swc compiles with the
// workspace tsconfig (decorator metadata on), tsconfig-paths resolves @ringcloud/* libs.
const path = require('node:path');
process.env.SWC_NODE_PROJECT ??= path.join(__dirname, '..', 'tsconfig.base.json');
require('@swc-node/register');
require('tsconfig-paths').register({
  baseUrl: path.join(__dirname, '..'),
  paths: require('../tsconfig.base.json').compilerOptions.paths,
});
