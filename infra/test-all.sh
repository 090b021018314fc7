#!/usr/bin/env bash
# The whole test suite, as README.md names it and .ci/run calls it: formatting, lints, then every
# unit, integration and end-to-end test of the workspace. Needs only a Rust toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test"
cargo test --workspace --locked
