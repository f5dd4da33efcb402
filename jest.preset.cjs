// Shared jest settings. NestJS 12 and @nats-io are ESM-only: @swc/jest transforms them to CJS too.
const path = require('node:path');
const { pathsToModuleNameMapper } = require('./tools/jest-paths.cjs');
const { compilerOptions } = require('./tsconfig.base.json');

module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.(t|j|mj)s$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
          target: 'es2022',
        },
        module: { type: 'commonjs' },
      },
    ],
  },
  transformIgnorePatterns: [
    '/node_modules/(?!(@nestjs|@nats-io|file-type|strtok3|token-types|@tokenizer|uint8array-extras|@borewit)/)',
  ],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json'],
  moduleNameMapper: pathsToModuleNameMapper(compilerOptions.paths, path.join(__dirname)),
  // libs/sdk's `./x.js` imports → its .ts sources (see the file).
  resolver: path.join(__dirname, 'tools/jest-resolver.cjs'),
};
