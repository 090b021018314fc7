# shellcheck shell=bash
# Environment for the local AWS stand-ins: LocalStack community (S3) and moto server
# (Glue Schema Registry). Source it, do not run it:
#     source infra/local/env.sh
# Every variable keeps a value already set by the caller. Being sourced, this file does not
# `set -euo pipefail` (that would change the caller's shell); it is safe under `set -u`.

ADX_LOCAL_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
export ADX_LOCAL_DIR

export ADX_LOCALSTACK_PORT="${ADX_LOCALSTACK_PORT:-4566}"
export ADX_MOTO_PORT="${ADX_MOTO_PORT:-5055}"
export AWS_ENDPOINT_URL_S3="${AWS_ENDPOINT_URL_S3:-http://127.0.0.1:${ADX_LOCALSTACK_PORT}}"
export AWS_ENDPOINT_URL_GLUE="${AWS_ENDPOINT_URL_GLUE:-http://127.0.0.1:${ADX_MOTO_PORT}}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_REGION="${AWS_REGION:-us-east-1}"
# boto3/botocore read AWS_DEFAULT_REGION, not AWS_REGION.
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-${AWS_REGION}}"
export AWS_EC2_METADATA_DISABLED="${AWS_EC2_METADATA_DISABLED:-true}"
export LANDING_BUCKET="${LANDING_BUCKET:-adx-landing}"
export CURATED_BUCKET="${CURATED_BUCKET:-adx-curated}"
export QUARANTINE_BUCKET="${QUARANTINE_BUCKET:-adx-quarantine}"
export REGISTRY_NAME="${REGISTRY_NAME:-advertisex}"
ADX_LOCAL_STATE="${ADX_LOCAL_STATE:-${ADX_LOCAL_DIR}/.state}"
case "${ADX_LOCAL_STATE}" in /*) ;; *) ADX_LOCAL_STATE="${PWD}/${ADX_LOCAL_STATE}" ;; esac
export ADX_LOCAL_STATE
# A python with boto3 (the LocalStack venv), for scripts and ad-hoc checks.
# pyiceberg's interpreter, for the test that reads the demo's tables with it.
export ADX_PYICEBERG_PYTHON="${ADX_PYICEBERG_PYTHON:-${ADX_LOCAL_DIR}/.venv/pyiceberg/bin/python}"
export ADX_LOCAL_PYTHON="${ADX_LOCAL_PYTHON:-${ADX_LOCAL_DIR}/.venv/localstack/bin/python}"
