module.exports = {
  ...require('../../../jest.preset.cjs'),
  displayName: 'nest-observability',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
};
