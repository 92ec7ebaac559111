#!/usr/bin/env bash
# `make demo`: runs scripts/demo.py against the `make dev` stack on 127.0.0.1:9000, starting
# one (and stopping it afterwards) when none answers there.
set -euo pipefail
source "$(dirname "$0")/venv.sh"
cd "$ROOT"

base=http://127.0.0.1:9000
answers() { local_aws answers --endpoint "$base/api/organizations" --timeout "${1:-2}"; }

DEV_PID=""
cleanup() {
  if [ -n "$DEV_PID" ]; then
    kill -INT -- "-$DEV_PID" 2>/dev/null || true
    wait "$DEV_PID" 2>/dev/null || true
  fi
}
trap cleanup EXIT

if ! answers; then
  echo "==> no stack on 127.0.0.1:9000: starting make dev (log: target/demo-dev.log)"
  mkdir -p target
  setsid bash scripts/dev.sh >target/demo-dev.log 2>&1 &
  DEV_PID=$!
  answers 300 || { echo "the stack did not come up; see target/demo-dev.log" >&2; exit 1; }
fi

python3 scripts/demo.py --token "$base" --admin "$base"
