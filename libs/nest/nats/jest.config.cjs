module.exports = {
  ...require('../../../jest.preset.cjs'),
  displayName: 'nest-nats',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
};
