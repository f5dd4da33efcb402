module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'api-gateway',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
  // The specs start real gateways, NATS servers and Redis clients: one file at a time keeps the
  // 2-core machine from turning timing-sensitive rate-limit checks into flakes.
  maxWorkers: 1,
  testTimeout: 20000,
};
