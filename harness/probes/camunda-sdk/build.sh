#!/usr/bin/env bash
# Installs the tlsmatrix camunda-sdk probe's dependencies (@camunda8/sdk, pinned) from package-lock.json.
# Idempotent: skips `npm ci` when node_modules/.package-lock.json is newer than package-lock.json.
# Prints the command that runs the probe on stdout; progress goes to stderr.
# Env: NPM (default: npm), FORCE=1 to reinstall regardless.
set -euo pipefail
cd "$(dirname "$0")"
HERE="$(pwd)"
NPM="${NPM:-npm}"

if [[ "${FORCE:-0}" != "1" && -f node_modules/.package-lock.json \
      && node_modules/.package-lock.json -nt package-lock.json ]]; then
  echo "camunda-sdk probe: up to date (node_modules)" >&2
else
  start=$(date +%s)
  "$NPM" ci --no-audit --no-fund --loglevel=error >&2
  touch node_modules/.package-lock.json   # explicit stamp for the up-to-date check
  echo "camunda-sdk probe: npm ci done in $(( $(date +%s) - start ))s" >&2
fi

echo "node '$HERE/probe.js' --address HOST:PORT [--rest] [--timeout-ms 5000]"
