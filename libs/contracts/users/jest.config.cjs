module.exports = {
  ...require('../../../jest.preset.cjs'),
  displayName: 'contracts-users',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
};
