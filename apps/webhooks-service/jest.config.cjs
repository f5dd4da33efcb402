module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'webhooks-service',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
  // The suites share one PostgreSQL and spawn their own nats-server: give them room.
  testTimeout: 60_000,
};
