// Maps tsconfig path aliases (@ringcloud/*) to jest moduleNameMapper entries.
const path = require('node:path');
exports.pathsToModuleNameMapper = (paths, root) =>
  Object.fromEntries(
    Object.entries(paths).map(([alias, [target]]) => [`^${alias.replace(/[/\-]/g, '\\$&')}$`, path.join(root, target)]),
  );
