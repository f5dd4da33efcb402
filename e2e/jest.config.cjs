// Black-box tests: the real processes over HTTP, against real NATS, PostgreSQL and Redis.
module.exports = {
  ...require('../jest.preset.cjs'),
  displayName: 'e2e',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.e2e.spec.ts'],
  // testTimeout and maxWorkers are global options: scripts/test.sh passes them (60 s, 2 workers).
};
