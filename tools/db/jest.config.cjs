const preset = require('../../jest.preset.cjs');

// Prisma's WASM schema engine ships as an ES module: let swc turn it into CommonJS like NestJS.
const ignore = preset.transformIgnorePatterns[0];
const withEngine = ignore.replace('(?!(', '(?!(@prisma/schema-engine-wasm|');
if (withEngine === ignore) throw new Error('jest.preset.cjs transformIgnorePatterns changed shape: update tools/db/jest.config.cjs');

module.exports = {
  ...preset,
  displayName: 'db-tools',
  rootDir: __dirname,
  testMatch: ['<rootDir>/*.spec.ts'],
  transformIgnorePatterns: [withEngine],
  testTimeout: 20_000,
};
