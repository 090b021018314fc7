#!/usr/bin/env bash
# Stops the local AWS stand-ins started by start.sh: sends SIGTERM (and SIGCONT, in case it
# was paused) to each service's whole process group from its pid file, waits until the group
# is gone, SIGKILLs it after ADX_STOP_TIMEOUT seconds (default 20), and removes the pid file.
# A container started with ADX_LOCALSTACK_DOCKER=1 is removed. Fine to run when nothing runs.
set -euo pipefail

here="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
# shellcheck source-path=SCRIPTDIR source=_lib.sh
source "$here/_lib.sh"

timeout_s="${ADX_STOP_TIMEOUT:-20}"

# alive TARGET: TARGET is -PGID (a process group) or PID; zombies do not count.
alive() {
  if [[ "$1" == -* ]]; then
    pgroup_alive "${1#-}"
  else
    local stat
    stat="$(ps -o stat= -p "$1" 2>/dev/null)" && [[ "$stat" != Z* ]]
  fi
}

# wait_gone TARGET SECONDS: succeeds once TARGET is no longer alive.
wait_gone() {
  local target="$1" until_ms=$(($(now_ms) + $2 * 1000))
  while alive "$target"; do
    (($(now_ms) < until_ms)) || return 1
    sleep 0.1
  done
}

stop_service() {
  local svc="$1" pid pgid t0 container
  if container="$(svc_container "$svc")"; then
    echo "stop.sh: removing container $container"
    docker rm -f "$container" >/dev/null 2>&1 || true
    rm -f "$(svc_containerfile "$svc")" "$(svc_pidfile "$svc")"
    return 0
  fi
  if ! pid="$(svc_pid "$svc")"; then
    if [[ -e "$(svc_pidfile "$svc")" ]]; then
      echo "stop.sh: $svc not running (removing stale pid file)"
      rm -f "$(svc_pidfile "$svc")"
    else
      echo "stop.sh: $svc not running"
    fi
    return 0
  fi
  pgid="$(ps -o pgid= -p "$pid" | tr -d ' ')"
  t0="$(now_ms)"
  if [[ "$pgid" != "$pid" ]]; then
    # Not the leader of its own group (not started by start.sh as expected): signal only it,
    # never a group that may hold unrelated processes.
    pgid=""
  fi
  local target="${pgid:+-}${pgid:-$pid}"
  kill -TERM -- "$target" 2>/dev/null || true
  kill -CONT -- "$target" 2>/dev/null || true
  if ! wait_gone "$target" "$timeout_s"; then
    echo "stop.sh: $svc still running after ${timeout_s}s; sending SIGKILL" >&2
    kill -KILL -- "$target" 2>/dev/null || true
    wait_gone "$target" 10 || { echo "stop.sh: $svc (pid $pid) survived SIGKILL" >&2; return 1; }
  fi
  rm -f "$(svc_pidfile "$svc")"
  echo "stop.sh: $svc stopped (pid $pid) in $(fmt_ms $(($(now_ms) - t0)))"
}

rc=0
for svc in "${ADX_SERVICES[@]}"; do
  stop_service "$svc" || rc=1
done
exit "$rc"
