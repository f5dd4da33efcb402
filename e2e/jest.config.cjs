// Black-box tests: the real processes over HTTP, against real NATS, PostgreSQL and Redis.
module.exports = {
  ...require('../jest.preset.cjs'),
  displayName: 'e2e',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.e2e.spec.ts'],
  testTimeout: 60_000,
  // Each file starts its own stack; two at a time fit this 2-core machine.
  maxWorkers: 2,
};
