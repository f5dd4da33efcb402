#!/usr/bin/env bash
# The whole suite: lint (module boundaries included), type check, unit tests beside the code,
# then the e2e suite against the real processes. Ends with one line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
export NX_NO_CLOUD=true NX_DAEMON=false CHECKPOINT_DISABLE=1 NX_TUI=false
mkdir -p tmp

bash scripts/services.sh || { echo "0 passed, 1 failed"; exit 1; }
npm run -s prisma:generate   # quick when nothing changed; a new app's schema gets its client

checks_failed=0
echo "== lint"
npx nx run-many -t lint --output-style=static --skip-nx-cache || checks_failed=$((checks_failed + 1))
echo "== type check"
npx tsc -p tsconfig.json --noEmit && echo "types ok" || checks_failed=$((checks_failed + 1))

echo "== unit tests"
rm -f tmp/jest-unit.json tmp/jest-e2e.json
JEST_SUITE=unit npx jest --ci --testTimeout=30000 --json --outputFile=tmp/jest-unit.json
echo "== e2e tests"
JEST_SUITE=e2e npx jest --ci --maxWorkers=2 --testTimeout=60000 --json --outputFile=tmp/jest-e2e.json

node tools/test-summary.cjs "$checks_failed" tmp/jest-unit.json tmp/jest-e2e.json
