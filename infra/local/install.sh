#!/usr/bin/env bash
# Installs the Python 3.11 virtualenvs for the local AWS stand-ins (no Docker needed):
#   infra/local/.venv/localstack  LocalStack community 4.13.1 for S3, plus boto3
#                                 (requirements.txt, locked by constraints.txt)
#   infra/local/.venv/moto        moto server for the Glue Schema Registry API, plus boto3
#                                 (requirements-moto.txt, locked by constraints-moto.txt)
#   infra/local/.venv/pyiceberg   pyiceberg, an independent reader of the Iceberg tables
#                                 (requirements-pyiceberg.txt, locked by constraints-pyiceberg.txt)
# Two venvs because localstack-core[runtime] depends on moto-ext, a fork that installs the
# same `moto` package as upstream moto.
# Idempotent and fast when up to date: each venv keeps a stamp holding the sha256 of the
# interpreter version, its requirements and its constraints; a venv whose stamp matches is
# left alone, any other is rebuilt from scratch. The venvs install in parallel.
# ADX_PYTHON chooses the interpreter (default: python3.11, else python3 if it is 3.11).
set -euo pipefail

here="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
# shellcheck source-path=SCRIPTDIR source=env.sh
source "$here/env.sh"

t0=$(($(date +%s%N) / 1000000))

find_python() {
  local cand
  for cand in "${ADX_PYTHON:-}" python3.11 python3; do
    [[ -n "$cand" ]] || continue
    command -v "$cand" >/dev/null 2>&1 || continue
    if "$cand" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
      echo "$cand"
      return 0
    fi
  done
  echo "install.sh: no Python 3.11 found (tried \$ADX_PYTHON, python3.11, python3)" >&2
  return 1
}

py="$(find_python)"
py_version="$("$py" -c 'import sys; print(sys.version)')"
mkdir -p "$here/.venv" "$ADX_LOCAL_STATE"

# stamp_of REQUIREMENTS CONSTRAINTS
stamp_of() {
  { echo "$py_version"; cat "$1" "$2"; } | sha256sum | cut -d' ' -f1
}

# install_venv NAME REQUIREMENTS CONSTRAINTS: rebuilds .venv/NAME unless its stamp matches.
install_venv() {
  local name="$1" req="$here/$2" con="$here/$3"
  local venv="$here/.venv/$name" log="$ADX_LOCAL_STATE/install-$name.log" want
  want="$(stamp_of "$req" "$con")"
  if [[ -f "$venv/.adx-stamp" && "$(<"$venv/.adx-stamp")" == "$want" ]] \
    && "$venv/bin/python" -c '' 2>/dev/null; then
    echo "install.sh: $name venv up to date"
    return 0
  fi
  echo "install.sh: building $name venv ($venv, log: $log)"
  rm -rf "$venv"
  if ! {
    "$py" -m venv "$venv" \
      && "$venv/bin/python" -m pip install --disable-pip-version-check --no-input -q \
        -r "$req" -c "$con" \
      && "$venv/bin/python" -m pip check
  } >"$log" 2>&1; then
    echo "install.sh: installing the $name venv failed; last lines of $log:" >&2
    tail -n 30 "$log" >&2
    return 1
  fi
  echo "$want" >"$venv/.adx-stamp"
  echo "install.sh: $name venv built"
}

install_venv localstack requirements.txt constraints.txt &
ls_job=$!
install_venv moto requirements-moto.txt constraints-moto.txt &
moto_job=$!
install_venv pyiceberg requirements-pyiceberg.txt constraints-pyiceberg.txt &
pyiceberg_job=$!
rc=0
wait "$ls_job" || rc=1
wait "$moto_job" || rc=1
wait "$pyiceberg_job" || rc=1

t1=$(($(date +%s%N) / 1000000))
ms=$((t1 - t0))
if ((rc != 0)); then
  printf 'install.sh: FAILED after %d.%03ds\n' $((ms / 1000)) $((ms % 1000)) >&2
  exit 1
fi
printf 'install.sh: done in %d.%03ds (python %s)\n' $((ms / 1000)) $((ms % 1000)) "${py_version%% *}"
