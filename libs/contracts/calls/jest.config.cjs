module.exports = {
  ...require('../../../jest.preset.cjs'),
  displayName: 'contracts-calls',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
};
