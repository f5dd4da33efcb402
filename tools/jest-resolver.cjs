// libs/sdk writes ESM-style relative imports (`./client.js` for client.ts) so its ESM build runs
// in Node as is; jest resolves them to the .ts sources. Only inside libs/sdk/src: nothing else changes.
const path = require('node:path');
const SDK_SRC = path.join(__dirname, '..', 'libs', 'sdk', 'src') + path.sep;

module.exports = (request, options) => {
  if (/^\.{1,2}\/.*\.js$/.test(request) && (options.basedir + path.sep).startsWith(SDK_SRC)) {
    try {
      return options.defaultResolver(request.slice(0, -3), options);
    } catch {
      /* a real .js file: resolve it as written */
    }
  }
  return options.defaultResolver(request, options);
};
