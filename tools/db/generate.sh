#!/usr/bin/env bash
# Generates the Prisma client of every apps/*/prisma/schema.prisma into the output folder its
# generator names, offline. Quiet on success; prints Prisma's output when it fails.
#
#   bash tools/db/generate.sh            # npm run prisma:generate
#   bash tools/db/generate.sh --force    # regenerate even when nothing changed
#   bash tools/db/generate.sh --postinstall  # from npm's postinstall: skips when the prisma CLI is not installed
#
# Prisma 7 generates with its bundled WASM, but only stops trying to download the native schema-engine
# when PRISMA_SCHEMA_ENGINE_BINARY names an existing file; generate never runs that file.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
prisma="$root/node_modules/.bin/prisma"
force=false postinstall=false
for arg in "$@"; do
  case "$arg" in
    --force) force=true ;;
    --postinstall) postinstall=true ;;
    *) echo "usage: $0 [--force] [--postinstall]" >&2; exit 64 ;;
  esac
done

if [[ ! -x "$prisma" ]]; then
  # `npm ci --omit=dev` (runtime images) has no prisma CLI: the client is generated in the build stage.
  if $postinstall; then exit 0; fi
  echo "generate.sh: $prisma not found; run npm ci first" >&2
  exit 1
fi

export CHECKPOINT_DISABLE=1
export PRISMA_HIDE_UPDATE_MESSAGE=1
if [[ -z "${PRISMA_SCHEMA_ENGINE_BINARY:-}" || ! -f "${PRISMA_SCHEMA_ENGINE_BINARY}" ]]; then
  PRISMA_SCHEMA_ENGINE_BINARY="$(type -P true)"
  export PRISMA_SCHEMA_ENGINE_BINARY
fi

# What the generated code depends on: skip a schema whose inputs are unchanged and whose outputs exist.
versions="$(cat "$root/node_modules/prisma/package.json" "$root/node_modules/@prisma/client/package.json" 2>/dev/null | sha256sum)"

shopt -s nullglob
for schema in "$root"/apps/*/prisma/schema.prisma; do
  app_dir="$(dirname "$(dirname "$schema")")"
  app="$(basename "$app_dir")"
  stamp="$( { cat "$schema"; cat "$app_dir/prisma.config.ts" 2>/dev/null || true; echo "$versions"; } | sha256sum | cut -d' ' -f1)"

  outputs_exist=true stamp_file=""
  while IFS= read -r output; do
    [[ -d "$(dirname "$schema")/$output" ]] || outputs_exist=false
    # The stamp lives with the generated code, so it describes exactly that checkout's output
    # (several worktrees may share one node_modules).
    [[ -n "$stamp_file" ]] || stamp_file="$(dirname "$schema")/$output/.generate-stamp"
  done < <(sed -n 's/^[[:space:]]*output[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$schema")
  [[ -n "$stamp_file" ]] || stamp_file="$app_dir/.prisma-generate-stamp"

  if ! $force && $outputs_exist && [[ -f "$stamp_file" && "$(cat "$stamp_file")" == "$stamp" ]]; then
    continue
  fi

  rm -f "$stamp_file"
  # From the app folder, so Prisma picks up the app's prisma.config.ts.
  if ! log="$(cd "$app_dir" && "$prisma" generate --schema prisma/schema.prisma 2>&1)"; then
    echo "generate.sh: prisma generate failed for apps/$app:" >&2
    echo "$log" >&2
    exit 1
  fi
  echo "$stamp" >"$stamp_file"
done
