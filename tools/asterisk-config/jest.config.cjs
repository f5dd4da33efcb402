module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'asterisk-config',
  rootDir: __dirname,
  testMatch: ['<rootDir>/*.spec.ts'],
};
