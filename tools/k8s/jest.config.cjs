const preset = require('../../jest.preset.cjs');

// kubernetes-models is ESM-only: resolve it with the "import" condition and let swc transform it.
const ignore = preset.transformIgnorePatterns[0];
const withModels = ignore.replace('(?!(', '(?!(kubernetes-models|@kubernetes-models|is-cidr|cidr-regex|ip-regex|');
if (withModels === ignore) throw new Error('jest.preset.cjs transformIgnorePatterns changed shape: update tools/k8s/jest.config.cjs');

module.exports = {
  ...preset,
  displayName: 'k8s',
  rootDir: __dirname,
  testMatch: ['<rootDir>/*.spec.ts'],
  resolver: '<rootDir>/jest-resolver.cjs',
  transformIgnorePatterns: [withModels],
  testTimeout: 30_000,
};
