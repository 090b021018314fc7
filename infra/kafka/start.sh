#!/usr/bin/env bash
# Starts a tansu Kafka broker in the background, in memory, on ADX_KAFKA_PORT (default 9092),
# for `adx produce` / `adx consume`; its pid and log go to ADX_KAFKA_STATE (default
# infra/kafka/.state). Run infra/kafka/install.sh first.
set -euo pipefail
cd "$(dirname "$0")"
port="${ADX_KAFKA_PORT:-9092}"
state="${ADX_KAFKA_STATE:-$PWD/.state}"
bin="${ADX_TANSU:-${CARGO_HOME:-$HOME/.cargo}/bin/tansu}"
mkdir -p "$state"
if [ -f "$state/tansu.pid" ] && kill -0 "$(cat "$state/tansu.pid")" 2>/dev/null; then
  echo "start.sh: tansu already running (pid $(cat "$state/tansu.pid")) on 127.0.0.1:$port"
  exit 0
fi
[ -x "$bin" ] || { echo "start.sh: no tansu at $bin: run infra/kafka/install.sh" >&2; exit 1; }
nohup "$bin" broker \
  --listener-url "tcp://127.0.0.1:$port" \
  --advertised-listener-url "tcp://127.0.0.1:$port" \
  --storage-engine "memory://tansu/" >"$state/tansu.log" 2>&1 &
echo $! >"$state/tansu.pid"
for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "start.sh: tansu listening on 127.0.0.1:$port (pid $(cat "$state/tansu.pid")); export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$port"
    exit 0
  fi
  sleep 0.1
done
echo "start.sh: tansu did not listen on $port within 10 s; see $state/tansu.log" >&2
exit 1
