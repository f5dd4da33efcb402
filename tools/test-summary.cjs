// Adds up jest's JSON reports (and failed lint/type checks) into the one line CI reads.
// A report that is missing means its jest run crashed: it counts as a failure.
const { existsSync, readFileSync } = require('node:fs');

const [checksFailedArg, ...reports] = process.argv.slice(2);
const checksFailed = Number(checksFailedArg) || 0;
let passed = 2 - checksFailed; // lint and type check count as one check each
let failed = checksFailed;

for (const file of reports) {
  if (!existsSync(file)) {
    console.log(`${file}: no report (jest did not finish)`);
    failed += 1;
    continue;
  }
  const r = JSON.parse(readFileSync(file, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests + r.numRuntimeErrorTestSuites;
  for (const suite of r.testResults.filter((s) => s.status === 'failed')) {
    console.log(`FAILED ${suite.name.replace(process.cwd() + '/', '')}`);
    for (const t of suite.assertionResults.filter((a) => a.status === 'failed')) console.log(`  - ${t.fullName}`);
    if (!suite.assertionResults.length && suite.message) console.log(suite.message.split('\n').slice(0, 8).join('\n'));
  }
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
