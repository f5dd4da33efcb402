module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'telephony-adapter',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
  // Suites spawn their own nats-server, fake AMI servers and PostgreSQL schemas: give them room.
  testTimeout: 30_000,
};
