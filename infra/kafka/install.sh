#!/usr/bin/env bash
# Installs the tansu Kafka broker (a Kafka-protocol broker in Rust, from crates.io) at the pinned
# version, with the feature that gives it storage engines. About 10 minutes on 2 cores, so an
# installed binary of the pinned version is reused: `cargo install` only runs when `tansu` is
# missing or at another version.
set -euo pipefail
TANSU_VERSION="${ADX_TANSU_VERSION:-0.6.0}"
bin="${CARGO_HOME:-$HOME/.cargo}/bin/tansu"
if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q " $TANSU_VERSION\b"; then
  echo "install.sh: tansu $TANSU_VERSION already installed at $bin"
  exit 0
fi
echo "install.sh: cargo install tansu $TANSU_VERSION (about 10 minutes)"
# Its own target directory, removed afterwards: the build is large and the disk is shared.
target="$(mktemp -d "${TMPDIR:-/tmp}/tansu-build.XXXXXX")"
trap 'rm -rf "$target"' EXIT
CARGO_TARGET_DIR="$target" cargo install tansu --version "$TANSU_VERSION" --features dynostore --locked
"$bin" --version
