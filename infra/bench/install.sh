#!/usr/bin/env bash
# Installs the pinned engines of the comparison (requirements-engines.txt, locked by
# constraints-engines.txt) into infra/bench/.venv/engines. Idempotent: the venv keeps a stamp
# of the interpreter version, requirements and constraints, and is rebuilt only when it
# differs. ADX_PYTHON chooses the interpreter (default: python3.11, else python3).
set -euo pipefail

here="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
py="${ADX_PYTHON:-}"
if [[ -z "$py" ]]; then
  if command -v python3.11 >/dev/null 2>&1; then py=python3.11; else py=python3; fi
fi
venv="$here/.venv/engines"
req="$here/requirements-engines.txt"
con="$here/constraints-engines.txt"
want="$({ "$py" -c 'import sys; print(sys.version)'; cat "$req" "$con"; } | sha256sum | cut -d' ' -f1)"
if [[ -f "$venv/.adx-stamp" && "$(<"$venv/.adx-stamp")" == "$want" ]] \
  && "$venv/bin/python" -c 'import duckdb, fastavro, polars, pyarrow' 2>/dev/null; then
  echo "install.sh: engines venv up to date" >&2
  exit 0
fi
echo "install.sh: building the engines venv ($venv)" >&2
rm -rf "$venv"
mkdir -p "$here/.venv"
"$py" -m venv "$venv"
"$venv/bin/python" -m pip install --disable-pip-version-check --no-input -q \
  -r "$req" -c "$con"
echo "$want" >"$venv/.adx-stamp"
