module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'asterisk-conf',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
};
