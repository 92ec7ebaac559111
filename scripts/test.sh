#!/usr/bin/env bash
# `make test`: an emulator of its own on a free port (so it runs beside `make dev`), the table
# and signing key bootstrapped as in development, then every test. Stops what it started, also
# when tests fail; exits with the tests' status. Extra arguments go to `cargo test`.
set -euo pipefail
source "$(dirname "$0")/venv.sh"
cd "$ROOT"

port="$(local_aws free-port)"
endpoint="http://127.0.0.1:$port"
mkdir -p target
MOTO_PID=""
trap '[ -n "$MOTO_PID" ] && kill "$MOTO_PID" 2>/dev/null; wait 2>/dev/null || true' EXIT
echo "==> moto on $endpoint (log: target/moto-test.log)"
start_moto "$port" target/moto-test.log

export AWS_ENDPOINT_URL="$endpoint"
export TRUSTGATE_TABLE=trustgate-test
export TRUSTGATE_SIGNING_KEY=alias/trustgate-signing
local_aws bootstrap --endpoint "$endpoint" --table "$TRUSTGATE_TABLE" --key-alias "$TRUSTGATE_SIGNING_KEY"

if [ $# -eq 0 ]; then
  # The benchmarks are not run here (they are not timed tests), only kept compiling.
  echo "==> cargo check --benches"
  cargo check --locked --benches
fi

echo "==> cargo test"
cargo test --locked --no-fail-fast "$@"
