#!/usr/bin/env bash
# `npm start`: the whole stack in the foreground, from a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."
export NX_NO_CLOUD=true NX_DAEMON=false CHECKPOINT_DISABLE=1

if [ ! -d node_modules ]; then
  echo "start: installing dependencies (npm ci)…"
  npm ci --no-audit --no-fund
fi
npm run -s prisma:generate   # quick when nothing changed; a new app's schema gets its client
bash scripts/services.sh
exec node -r ./tools/register.cjs tools/stack/start.ts
