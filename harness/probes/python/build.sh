#!/usr/bin/env bash
# Installs the Python probes' libraries (requirements.txt, pinned, from PyPI
# through pip's own settings) into a venv at $TLSMATRIX_TOOLS/python (default
# .tools/python). Skips when the venv is newer than requirements.txt.
# Prints the venv's python on stdout.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
venv="${TLSMATRIX_TOOLS:-$root/.tools}/python"
py="$venv/bin/python"
stamp="$venv/.requirements"

if [[ -x "$py" && -f "$stamp" ]] && cmp -s "$stamp" "$here/requirements.txt"; then
  echo "$py"
  exit 0
fi

python="${PYTHON:-python3}"
"$python" -m venv "$venv" >&2
"$py" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt" >&2
cp "$here/requirements.txt" "$stamp"
echo "$py"
