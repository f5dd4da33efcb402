#!/usr/bin/env bash
# `npm start`: the whole stack in the foreground, from a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."
export NX_NO_CLOUD=true NX_DAEMON=false CHECKPOINT_DISABLE=1

if [ ! -d node_modules ]; then
  echo "start: installing dependencies (npm ci)…"
  npm ci --no-audit --no-fund
fi
[ -d apps/users-service/src/generated/prisma ] || npm run -s prisma:generate
bash scripts/services.sh
exec node -r ./tools/register.cjs tools/stack/start.ts
