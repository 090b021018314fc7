#!/usr/bin/env bash
# Installs the deployment tools, pinned (requirements.txt, locked by constraints.txt), into
# infra/tools/.venv: AWS SAM CLI, cfn-lint, cargo-lambda and zig (the linker cargo-lambda
# uses to build the arm64 Lambda binaries on this x86_64 machine). Also adds the Rust target
# aarch64-unknown-linux-gnu. Idempotent: a venv whose stamp (sha256 of the Python version,
# requirements and constraints) matches is left alone. Put `infra/tools/.venv/bin` on PATH.
set -euo pipefail

here="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
venv="$here/.venv"
py="${ADX_PYTHON:-python3}"
"$py" -c 'import sys; sys.exit(sys.version_info[:2] < (3, 9))' \
  || { echo "tools/install.sh: Python 3.9 or newer is required" >&2; exit 1; }

want="$({ "$py" -c 'import sys; print(sys.version)'; cat "$here/requirements.txt" "$here/constraints.txt"; } | sha256sum | cut -d' ' -f1)"
if [[ -f "$venv/.adx-stamp" && "$(<"$venv/.adx-stamp")" == "$want" ]] && "$venv/bin/python" -c '' 2>/dev/null; then
  echo "tools/install.sh: venv up to date"
else
  t0=$(date +%s)
  echo "tools/install.sh: building $venv"
  rm -rf "$venv"
  "$py" -m venv "$venv"
  "$venv/bin/python" -m pip install --disable-pip-version-check --no-input -q \
    -r "$here/requirements.txt" -c "$here/constraints.txt"
  echo "$want" >"$venv/.adx-stamp"
  echo "tools/install.sh: installed in $(($(date +%s) - t0)) s"
fi

if command -v rustup >/dev/null 2>&1; then
  rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1 \
    || echo "tools/install.sh: could not add the aarch64-unknown-linux-gnu target" >&2
fi
