module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'api-gateway',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
  // The *.gateway.spec.ts files start real gateways, a private nats-server and Redis clients.
  testTimeout: 20000,
};
