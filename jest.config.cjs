// Every jest project in the workspace: unit tests beside the code, and the e2e suite.
const { readdirSync, existsSync } = require('node:fs');
const path = require('node:path');

function findConfigs(dir, depth = 0) {
  if (depth > 3 || !existsSync(dir)) return [];
  const here = existsSync(path.join(dir, 'jest.config.cjs')) ? [path.join(dir, 'jest.config.cjs')] : [];
  const children = readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !['node_modules', 'src', 'generated'].includes(d.name))
    // An app's prisma/ holds its schema and migrations; libs/nest/prisma is a project.
    .filter((d) => d.name !== 'prisma' || existsSync(path.join(dir, d.name, 'jest.config.cjs')))
    .flatMap((d) => findConfigs(path.join(dir, d.name), depth + 1));
  return [...here, ...children];
}

// JEST_SUITE=unit runs the tests beside the code, JEST_SUITE=e2e the black-box suite; unset, both.
const suite = process.env.JEST_SUITE;
const roots = suite === 'unit' ? ['apps', 'libs', 'tools'] : suite === 'e2e' ? ['e2e'] : ['apps', 'libs', 'tools', 'e2e'];

module.exports = {
  projects: roots.flatMap((d) => findConfigs(path.join(__dirname, d))),
};
