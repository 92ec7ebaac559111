#!/usr/bin/env bash
# `make dev`: moto on 127.0.0.1:4566 (unless one already runs there), the table, signing and
# wrapping keys (idempotent), then the functions under `cargo lambda watch` on 127.0.0.1:9000.
# `TRUSTGATE_SIGNING_MODE=envelope make dev` signs with envelope keys: the rotate function is
# invoked once at start (the first run makes the first key, which signs at once; a later run
# publishes the next key, which signs 10 minutes later). Ctrl-C stops everything this script
# started.
set -euo pipefail
source "$(dirname "$0")/venv.sh"
cd "$ROOT"

moto_port=4566
watch_port=9000
endpoint="http://127.0.0.1:$moto_port"
mkdir -p target
MOTO_PID=""
WATCH_PID=""
# Each kill may find its process gone already (Ctrl-C reaches the whole group); under set -e a
# failed kill would end the cleanup before the next one.
cleanup() {
  if [ -n "$WATCH_PID" ]; then kill "$WATCH_PID" 2>/dev/null || true; fi
  if [ -n "$MOTO_PID" ]; then kill "$MOTO_PID" 2>/dev/null || true; fi
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if local_aws running --endpoint "$endpoint"; then
  echo "==> using the emulator already running on $endpoint"
else
  echo "==> starting moto on $endpoint (log: target/moto-dev.log)"
  start_moto "$moto_port" target/moto-dev.log
fi

export AWS_ENDPOINT_URL="$endpoint"
export TRUSTGATE_TABLE=trustgate
export TRUSTGATE_SIGNING_KEY=alias/trustgate-signing
# The deployed paths (Cargo.toml's watch router, the template's routes) at the same URLs.
export TRUSTGATE_PUBLIC_URL="http://127.0.0.1:$watch_port"
export TRUSTGATE_ADMIN_AUTH=none
export TRUSTGATE_ALLOW_INSECURE_JWKS=true
export TRUSTGATE_SIGNING_MODE="${TRUSTGATE_SIGNING_MODE:-kms}"
export TRUSTGATE_WRAPPING_KEY=alias/trustgate-wrapping
local_aws bootstrap --endpoint "$endpoint" --table "$TRUSTGATE_TABLE" --key-alias "$TRUSTGATE_SIGNING_KEY" \
  --wrapping-key-alias "$TRUSTGATE_WRAPPING_KEY"

echo "==> building the functions and the CLI"
# With the CLI's features (Cargo.toml, `cli-features`): one build of the AWS SDK for both.
cargo build --workspace --features trustgate/cli-features --bins

cat <<MSG

Trustgate is starting (signing mode: $TRUSTGATE_SIGNING_MODE) on http://127.0.0.1:$watch_port,
at the deployed API's paths:
  token  http://127.0.0.1:$watch_port/t/{org}/oauth2/token (and /jwks, /introspect, /revoke)
  admin  http://127.0.0.1:$watch_port/api/organizations, /t/{org}/api/…
Ctrl-C stops everything.

MSG
cargo lambda watch --features cli-features -A 127.0.0.1 -P "$watch_port" &
WATCH_PID=$!
if [ "$TRUSTGATE_SIGNING_MODE" = envelope ]; then
  local_aws answers --endpoint "http://127.0.0.1:$watch_port/" --timeout 60
  echo "==> envelope signing: invoking the rotate function"
  cargo lambda invoke rotate -A 127.0.0.1 -P "$watch_port" --data-ascii '{}' ||
    echo "warning: the rotation failed; the token function answers 503 until it succeeds" >&2
fi
wait "$WATCH_PID"
