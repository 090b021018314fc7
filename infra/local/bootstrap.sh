#!/usr/bin/env bash
# Seeds the local AWS stand-ins after start.sh: creates the landing, curated and quarantine
# buckets on LocalStack (idempotent, with boto3 from the LocalStack venv), then registers the
# project's Avro schemas in moto's Glue Schema Registry with
#   ${ADX_BIN:-cargo run -q -p adx-cli --} schemas push
# (ADX_BIN may name a prebuilt binary, e.g. ADX_BIN=target/debug/adx). Run from anywhere.
# LocalStack community keeps nothing across a restart, so run this after every start.sh.
set -euo pipefail

here="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
# shellcheck source-path=SCRIPTDIR source=_lib.sh
source "$here/_lib.sh"
repo="$(cd -- "$here/../.." && pwd -P)"

if ! "$here/health.sh"; then
  echo "bootstrap.sh: the local services are not healthy; run infra/local/start.sh first" >&2
  exit 1
fi

"$ADX_LOCAL_PYTHON" - "$LANDING_BUCKET" "$CURATED_BUCKET" "$QUARANTINE_BUCKET" <<'PY'
import os
import sys

import boto3
from botocore.exceptions import ClientError

# The endpoint comes from AWS_ENDPOINT_URL_S3, credentials and region from env.sh.
s3 = boto3.client("s3", region_name=os.environ["AWS_REGION"])
region = os.environ["AWS_REGION"]
for bucket in sys.argv[1:]:
    try:
        s3.head_bucket(Bucket=bucket)
        print(f"bootstrap.sh: bucket {bucket} exists")
        continue
    except ClientError as e:
        if e.response["Error"]["Code"] not in ("404", "NoSuchBucket", "NotFound"):
            raise
    kwargs = {"Bucket": bucket}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        s3.create_bucket(**kwargs)
        print(f"bootstrap.sh: bucket {bucket} created")
    except ClientError as e:
        if e.response["Error"]["Code"] != "BucketAlreadyOwnedByYou":
            raise
        print(f"bootstrap.sh: bucket {bucket} exists")
PY

read -r -a adx <<<"${ADX_BIN:-cargo run -q -p adx-cli --}"
echo "bootstrap.sh: ${adx[*]} schemas push (registry $REGISTRY_NAME at $AWS_ENDPOINT_URL_GLUE)"
set +e
(cd "$repo" && "${adx[@]}" schemas push)
rc=$?
set -e
if ((rc != 0)); then
  echo "bootstrap.sh: FAILED: '${adx[*]} schemas push' exited with status $rc." >&2
  echo "bootstrap.sh: the buckets are in place; the Glue registry may be incomplete." >&2
  exit "$rc"
fi
echo "bootstrap.sh: done"
