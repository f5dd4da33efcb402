module.exports = {
  ...require('../../../jest.preset.cjs'),
  displayName: 'nest-prisma',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
};
