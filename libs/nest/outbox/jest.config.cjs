module.exports = {
  ...require('../../../jest.preset.cjs'),
  displayName: 'nest-outbox',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
  testTimeout: 30_000,
};
