#!/usr/bin/env bash
# Reports on the local AWS stand-ins started by start.sh: one line per service with its
# name, URL, healthy or DOWN and a detail (S3 status from LocalStack's /_localstack/health,
# HTTP status of moto's /moto-api/, pid). Exits non-zero when any service is down.
set -euo pipefail

here="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
# shellcheck source-path=SCRIPTDIR source=_lib.sh
source "$here/_lib.sh"

rc=0
for svc in "${ADX_SERVICES[@]}"; do
  if container="$(svc_container "$svc")"; then
    owner="container $container"
  elif pid="$(svc_pid "$svc")"; then
    owner="pid $pid"
  else
    owner="no process from start.sh"
  fi
  if detail="$(svc_probe "$svc")"; then
    state=healthy
  else
    state=DOWN
    rc=1
  fi
  printf '%-11s %-24s %-8s %s, %s\n' "$svc" "$(svc_url "$svc")" "$state" "$detail" "$owner"
done
exit "$rc"
