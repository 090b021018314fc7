#!/usr/bin/env bash
# The whole test suite, as README.md names it and .ci/run calls it: formatting, lints, then every
# unit, integration and end-to-end test of the workspace, the emulator suite included.
#
# Needs a Rust toolchain, python3.11 and curl. It installs LocalStack (S3) and moto (Glue
# Schema Registry) into infra/local/.venv (pinned; skipped when already there), starts them
# unless they already run, and stops at the end whatever it started.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

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
