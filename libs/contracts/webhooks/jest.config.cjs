module.exports = {
  ...require('../../../jest.preset.cjs'),
  displayName: 'contracts-webhooks',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
};
