#!/usr/bin/env bash
# Stops the broker infra/kafka/start.sh started.
set -euo pipefail
cd "$(dirname "$0")"
state="${ADX_KAFKA_STATE:-$PWD/.state}"
if [ -f "$state/tansu.pid" ]; then
  pid="$(cat "$state/tansu.pid")"
  kill "$pid" 2>/dev/null && echo "stop.sh: tansu stopped (pid $pid)" || echo "stop.sh: tansu was not running"
  rm -f "$state/tansu.pid"
else
  echo "stop.sh: no tansu started from here"
fi
