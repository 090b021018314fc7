# shellcheck shell=bash
# Helpers shared by infra/local/{start,stop,health,bootstrap}.sh: where each service keeps
# its pid and log, and how to tell that it is alive and healthy. Sourced, not run.

# shellcheck source-path=SCRIPTDIR source=env.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/env.sh"

# shellcheck disable=SC2034 # used by the scripts that source this file
ADX_SERVICES=(localstack moto)

svc_port() {
  case "$1" in
    localstack) echo "$ADX_LOCALSTACK_PORT" ;;
    moto) echo "$ADX_MOTO_PORT" ;;
    *) return 1 ;;
  esac
}

svc_url() { echo "http://127.0.0.1:$(svc_port "$1")"; }
svc_pidfile() { echo "$ADX_LOCAL_STATE/$1.pid"; }
svc_logfile() { echo "$ADX_LOCAL_STATE/$1.log"; }
svc_containerfile() { echo "$ADX_LOCAL_STATE/$1.container"; }

# A string that the command line of the service's main process contains.
svc_cmd_pattern() {
  case "$1" in
    localstack) echo "localstack.runtime.main" ;;
    moto) echo "moto_server" ;;
  esac
}

# Prints the pid from the pid file when that process is alive and is the service
# (guards against a recycled pid); fails otherwise.
svc_pid() {
  local pidfile pid
  pidfile="$(svc_pidfile "$1")"
  [[ -s "$pidfile" ]] || return 1
  pid="$(<"$pidfile")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$(svc_cmd_pattern "$1")" || return 1
  # A zombie is not alive.
  [[ "$(ps -o stat= -p "$pid" 2>/dev/null)" != Z* ]] || return 1
  echo "$pid"
}

# Name of the docker container when the service was started with ADX_LOCALSTACK_DOCKER=1.
svc_container() {
  local f
  f="$(svc_containerfile "$1")"
  [[ -s "$f" ]] || return 1
  cat "$f"
}

# Does any non-zombie process of process group $1 remain?
pgroup_alive() {
  ps -e -o pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { found = 1 } END { exit !found }'
}

# Is something listening on 127.0.0.1:$1?
port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# One health probe. Prints a short detail (e.g. "s3=running"); succeeds when healthy.
svc_probe() {
  local url body status
  url="$(svc_url "$1")"
  case "$1" in
    localstack)
      body="$(curl -fsS --max-time 3 "$url/_localstack/health" 2>/dev/null)" || { echo "no answer"; return 1; }
      status="$(grep -oE '"s3": *"[a-z_]+"' <<<"$body" | sed -E 's/.*"([a-z_]+)"$/\1/')" || true
      echo "s3=${status:-missing}"
      [[ "$status" == available || "$status" == running ]]
      ;;
    moto)
      # Any GET on the moto-api dashboard proves the Flask app is serving (it is not the
      # state dump, which grows with the data).
      status="$(curl -sS --max-time 3 -o /dev/null -w '%{http_code}' "$url/moto-api/" 2>/dev/null)" || { echo "no answer"; return 1; }
      echo "http=$status"
      [[ "$status" == 200 ]]
      ;;
  esac
}

log_tail() {
  local log
  log="$(svc_logfile "$1")"
  if [[ -f "$log" ]]; then
    echo "---- last 40 lines of $log ----" >&2
    tail -n 40 "$log" >&2
    echo "----" >&2
  fi
}

# Milliseconds since the epoch.
now_ms() { echo $(($(date +%s%N) / 1000000)); }
fmt_ms() { printf '%d.%03ds' $(($1 / 1000)) $(($1 % 1000)); }
