#!/usr/bin/env bash
# The file handler against DuckDB, Polars, pyarrow (and fastavro), per core: installs the engines
# (infra/bench/install.sh), builds `adx` with the measurement profile, then runs
# infra/bench/engines.py on generated click_conversions CSV and ad_impressions JSON Lines
# files, and on a bid_requests Avro container file against fastavro + pyarrow. Arguments go
# to engines.py (--records, default 500,000; --rounds, default 5; --work, default
# out/bench-engines). Run it on an otherwise idle machine.
set -euo pipefail

root="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)"
cd "$root"
infra/bench/install.sh
cargo build --profile measure --locked -p adx-cli --no-default-features >&2
exec infra/bench/.venv/engines/bin/python infra/bench/engines.py \
  --adx target/measure/adx --python infra/bench/.venv/engines/bin/python "$@"
