module.exports = {
  ...require('../../../jest.preset.cjs'),
  displayName: 'contracts-telephony',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
};
