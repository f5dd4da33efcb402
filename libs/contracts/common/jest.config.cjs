module.exports = {
  ...require('../../../jest.preset.cjs'),
  displayName: 'contracts-common',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
};
