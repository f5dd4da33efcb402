module.exports = {
  ...require('../../../jest.preset.cjs'),
  displayName: 'nest-config',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
};
