module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'pbx-simulator',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
  // The contract suite replays every recorded scenario against a live simulator.
  testTimeout: 60_000,
};
