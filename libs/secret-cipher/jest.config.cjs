module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'secret-cipher',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
};
