#!/usr/bin/env bash
# The whole test suite, as README.md names it and .ci/run calls it: formatting, lints, then every
# unit, integration and end-to-end test of the workspace, the emulator suite included.
#
# Needs a Rust toolchain (rustup), python3.11, curl and file. It installs the deployment tools
# (SAM CLI, cfn-lint, cargo-lambda, zig) into infra/tools/.venv, LocalStack (S3), moto
# (Glue Schema Registry and Data Catalog) and pyiceberg (an independent reader of the tables)
# into infra/local/.venv, and the tansu Kafka broker into ~/.cargo/bin
# (all pinned; skipped when already there), starts the emulators unless they already run, and
# stops at the end whatever it started. The Kafka test starts and stops its own broker.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo clippy: the tool without AWS and Kafka (the README's first command builds it so)"
cargo clippy -p adx-cli --no-default-features --bins --locked -- -D warnings

echo "== deployment: cfn-lint, sam validate --lint, sam build (arm64, cargo-lambda + zig)"
infra/tools/install.sh
PATH="$PWD/infra/tools/.venv/bin:$PATH"
export SAM_CLI_TELEMETRY=0
cfn-lint template.yaml
sam validate --lint
sam build
for fn in FileIngestFunction StreamIngestFunction TableCommitFunction; do
  # Not `| tee /dev/stderr`: with the output redirected to a file, reopening /dev/stderr
  # truncates that file, and the log of everything before is lost.
  kind="$(file .aws-sam/build/$fn/bootstrap)"
  echo "$kind"
  grep -q "ARM aarch64" <<<"$kind" \
    || { echo "$fn: bootstrap is not an arm64 executable" >&2; exit 1; }
done
if [ "${ADX_PRUNE_BUILD:-0}" = 1 ]; then
  # CI: the arm64 build has been checked; give its disk back before the test build.
  rm -rf target/aarch64-unknown-linux-gnu target/lambda .aws-sam
fi

echo "== Kafka broker for the local MSK test (tansu; reused when installed at the pinned version)"
infra/kafka/install.sh

echo "== local AWS emulators (LocalStack for S3, moto for Glue)"
if infra/local/health.sh >/dev/null 2>&1; then
  echo "already running: left running afterwards"
else
  trap 'infra/local/stop.sh' EXIT
fi
infra/local/start.sh
# shellcheck source=local/env.sh
source infra/local/env.sh

echo "== cargo test (the emulator tests are #[ignore]d in plain runs: included here)"
# `throughput` is the generator's benchmark, not a test.
cargo test --workspace --locked -- --include-ignored --skip throughput
