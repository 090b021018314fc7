#!/usr/bin/env bash
# Starts the local AWS stand-ins in the background and waits until they are healthy:
#   localstack  LocalStack community 4.13.1 in host mode (no Docker), S3 only,
#               on 127.0.0.1:$ADX_LOCALSTACK_PORT (default 4566)
#   moto        moto server (Glue Schema Registry API) on 127.0.0.1:$ADX_MOTO_PORT (default 5055)
# Runs install.sh first. Each service runs in its own session (setsid) with its log at
# $ADX_LOCAL_STATE/<name>.log and its pid (= process group id) at $ADX_LOCAL_STATE/<name>.pid.
# Idempotent: a service already running is left alone. Exits non-zero, with the tail of the
# log, when a service does not become healthy within ADX_START_TIMEOUT seconds (default 120).
# ADX_LOCALSTACK_DOCKER=1 runs the localstack/localstack:4.13.1 container instead of host
# mode, where `docker info` works (otherwise it warns and uses host mode).
# ADX_LOCALSTACK_SERVICES (default s3) is passed to LocalStack as SERVICES.
# LocalStack community keeps no state across a restart: run bootstrap.sh again after one.
set -euo pipefail

here="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
# shellcheck source-path=SCRIPTDIR source=_lib.sh
source "$here/_lib.sh"

timeout_s="${ADX_START_TIMEOUT:-120}"
ls_services="${ADX_LOCALSTACK_SERVICES:-s3}"
ls_image="localstack/localstack:4.13.1"

command -v curl >/dev/null || { echo "start.sh: curl is required" >&2; exit 1; }
"$here/install.sh"
mkdir -p "$ADX_LOCAL_STATE/localstack"

# Keep the previous log for a post-mortem, start a fresh one.
fresh_log() {
  local log
  log="$(svc_logfile "$1")"
  if [[ -f "$log" ]]; then mv -f "$log" "$log.prev"; fi
  echo "$log"
}

launch_localstack_host() {
  local log
  log="$(fresh_log localstack)"
  # DNS_ADDRESS=0: no DNS server (it would try port 53). EAGER_SERVICE_LOADING=1 loads S3
  # at start-up, so the first S3 call does not pay ~3 s of lazy loading.
  (
    cd "$ADX_LOCAL_STATE"
    exec env \
      GATEWAY_LISTEN="127.0.0.1:$ADX_LOCALSTACK_PORT" \
      LOCALSTACK_VOLUME_DIR="$ADX_LOCAL_STATE/localstack" \
      SKIP_SSL_CERT_DOWNLOAD=1 \
      DISABLE_EVENTS=1 \
      DNS_ADDRESS=0 \
      SERVICES="$ls_services" \
      EAGER_SERVICE_LOADING=1 \
      setsid "$here/.venv/localstack/bin/python" -m localstack.runtime.main
  ) >"$log" 2>&1 </dev/null &
  echo "$!" >"$(svc_pidfile localstack)"
}

launch_localstack_docker() {
  local name="adx-localstack-$ADX_LOCALSTACK_PORT" log
  log="$(fresh_log localstack)"
  docker rm -f "$name" >/dev/null 2>&1 || true
  docker run -d --rm --name "$name" \
    -p "127.0.0.1:$ADX_LOCALSTACK_PORT:4566" \
    -e SERVICES="$ls_services" -e EAGER_SERVICE_LOADING=1 -e DISABLE_EVENTS=1 \
    "$ls_image" >"$log" 2>&1
  echo "$name" >"$(svc_containerfile localstack)"
  # Follow the container's log into the usual place.
  (setsid docker logs -f "$name" >>"$log" 2>&1 </dev/null &)
}

launch_moto() {
  local log
  log="$(fresh_log moto)"
  (
    cd "$ADX_LOCAL_STATE"
    exec setsid "$here/.venv/moto/bin/moto_server" -H 127.0.0.1 -p "$ADX_MOTO_PORT"
  ) >"$log" 2>&1 </dev/null &
  echo "$!" >"$(svc_pidfile moto)"
}

launch() {
  case "$1" in
    localstack)
      if [[ "${ADX_LOCALSTACK_DOCKER:-0}" == 1 ]]; then
        if docker info >/dev/null 2>&1; then
          launch_localstack_docker
          return
        fi
        echo "start.sh: ADX_LOCALSTACK_DOCKER=1 but 'docker info' fails; using host mode" >&2
      fi
      launch_localstack_host
      ;;
    moto) launch_moto ;;
  esac
}

# Is the service's process (or container) there?
present() {
  if svc_container "$1" >/dev/null; then
    docker inspect -f '{{.State.Running}}' "$(svc_container "$1")" 2>/dev/null | grep -qx true
  else
    svc_pid "$1" >/dev/null
  fi
}

for svc in "${ADX_SERVICES[@]}"; do
  port="$(svc_port "$svc")"
  if ! [[ "$port" =~ ^[0-9]+$ ]] || ((port < 1 || port > 65535)); then
    echo "start.sh: invalid port '$port' for $svc" >&2
    exit 1
  fi
done

# First decide what to launch, so that a taken port stops the script before it starts anything.
to_launch=()
to_wait=()
for svc in "${ADX_SERVICES[@]}"; do
  if present "$svc"; then
    if detail="$(svc_probe "$svc")"; then
      echo "start.sh: $svc already running and healthy at $(svc_url "$svc") ($detail); left alone"
      continue
    fi
    echo "start.sh: $svc is running but not healthy yet ($detail); waiting for it"
    to_wait+=("$svc")
  else
    if port_in_use "$(svc_port "$svc")"; then
      echo "start.sh: port $(svc_port "$svc") is taken by a process not started by this script;" \
        "stop it or set ADX_$(tr '[:lower:]' '[:upper:]' <<<"$svc")_PORT" >&2
      exit 1
    fi
    to_launch+=("$svc")
  fi
done

declare -A started_at=()
for svc in "${to_wait[@]+"${to_wait[@]}"}"; do
  started_at[$svc]="$(now_ms)"
done
for svc in "${to_launch[@]+"${to_launch[@]}"}"; do
  rm -f "$(svc_pidfile "$svc")" "$(svc_containerfile "$svc")"
  echo "start.sh: starting $svc on $(svc_url "$svc") (log: $(svc_logfile "$svc"))"
  launch "$svc"
  started_at[$svc]="$(now_ms)"
done
pending=("${to_wait[@]+"${to_wait[@]}"}" "${to_launch[@]+"${to_launch[@]}"}")

t0="$(now_ms)"
deadline=$((t0 + timeout_s * 1000))
next_report=$((t0 + 5000))
while ((${#pending[@]} > 0)); do
  still=()
  for svc in "${pending[@]}"; do
    if detail="$(svc_probe "$svc")"; then
      echo "start.sh: $svc healthy at $(svc_url "$svc") ($detail) after $(fmt_ms $(($(now_ms) - started_at[$svc])))"
    elif ! present "$svc"; then
      echo "start.sh: $svc exited before becoming healthy" >&2
      log_tail "$svc"
      exit 1
    else
      still+=("$svc")
    fi
  done
  pending=("${still[@]+"${still[@]}"}")
  ((${#pending[@]} > 0)) || break
  now="$(now_ms)"
  if ((now >= deadline)); then
    for svc in "${pending[@]}"; do
      echo "start.sh: $svc not healthy after ${timeout_s}s ($(svc_probe "$svc" || true))" >&2
      log_tail "$svc"
    done
    exit 1
  fi
  if ((now >= next_report)); then
    echo "start.sh: waiting for ${pending[*]} ($(fmt_ms $((now - t0))))"
    next_report=$((now + 5000))
  fi
  sleep 0.2
done

echo "start.sh: all healthy. source infra/local/env.sh; S3 at $AWS_ENDPOINT_URL_S3, Glue at $AWS_ENDPOINT_URL_GLUE"
