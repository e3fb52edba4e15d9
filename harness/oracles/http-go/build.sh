#!/usr/bin/env bash
# Builds bin/tlsmatrix-http-oracle; skips when the binary is newer than its inputs.
# Prints the absolute path of the binary on stdout.
set -euo pipefail
cd "$(dirname "$0")"
bin="$PWD/bin/tlsmatrix-http-oracle"
go="${GO:-go}"
command -v "$go" >/dev/null 2>&1 || go=/usr/local/go/bin/go

if [[ -x "$bin" && "$bin" -nt go.mod && "$bin" -nt main.go ]]; then
  echo "$bin"
  exit 0
fi

mkdir -p bin
CGO_ENABLED=0 "$go" build -trimpath -o bin/tlsmatrix-http-oracle . >&2
echo "$bin"
