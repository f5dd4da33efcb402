// kubernetes-models and its helpers ship ES modules behind an "import"-only exports map, which
// jest's CommonJS resolution cannot see: resolve those packages with the "import" condition
// (swc then turns them into CommonJS, see jest.config.cjs). Everything else resolves as usual.
const ESM_ONLY = /^(kubernetes-models|@kubernetes-models\/|is-cidr|cidr-regex|ip-regex)/;
const INSIDE_ESM_ONLY = /[\\/]node_modules[\\/](kubernetes-models|@kubernetes-models[\\/][^\\/]+|is-cidr|cidr-regex|ip-regex)[\\/]/;

module.exports = (request, options) => {
  const esm = ESM_ONLY.test(request) || (INSIDE_ESM_ONLY.test(options.basedir + '/') && !request.startsWith('.'));
  if (!esm) return options.defaultResolver(request, options);
  try {
    return options.defaultResolver(request, { ...options, conditions: ['import', 'node', 'default'] });
  } catch {
    return options.defaultResolver(request, options);
  }
};
