#!/usr/bin/env bash
# `make test`: an emulator of its own on a free port (so it runs beside `make dev`), the table
# and signing key bootstrapped as in development, then every test: unit and integration tests
# (`cargo test`, property tests included), then end-to-end tests against the real functions
# under `cargo lambda watch` (pytest, tests/e2e, and schemathesis against the admin API), then a
# bounded fuzz smoke (scripts/fuzz.sh; skipped with a message without nightly and cargo-fuzz).
# Stops what it started, also when tests fail; exits non-zero when any test failed. Extra
# arguments go to `cargo test` (and skip the rest). TRUSTGATE_E2E_ONLY="tests/e2e/test_x.py …"
# runs only those pytest files against the stack (no cargo test, schemathesis or fuzz).
set -uo pipefail
source "$(dirname "$0")/venv.sh"
cd "$ROOT"

port="$(local_aws free-port)"
endpoint="http://127.0.0.1:$port"
mkdir -p target
MOTO_PID=""
WATCH_PID=""
cleanup() {
  [ -n "$WATCH_PID" ] && kill -- "-$WATCH_PID" 2>/dev/null
  [ -n "$MOTO_PID" ] && kill "$MOTO_PID" 2>/dev/null
  wait 2>/dev/null || true
}
trap cleanup EXIT
echo "==> moto on $endpoint (log: target/moto-test.log)"
start_moto "$port" target/moto-test.log || exit 1

export AWS_ENDPOINT_URL="$endpoint"
export TRUSTGATE_TABLE=trustgate-test
export TRUSTGATE_SIGNING_KEY=alias/trustgate-signing
local_aws bootstrap --endpoint "$endpoint" --table "$TRUSTGATE_TABLE" --key-alias "$TRUSTGATE_SIGNING_KEY" || exit 1

# The workspace with the CLI's features (Cargo.toml, `cli-features`): the tests, the CLI and the
# functions under watch then share one build of the AWS SDK.
WORKSPACE="--workspace --features trustgate/cli-features"
bench_status=0
cargo_status=0
e2e_only="${TRUSTGATE_E2E_ONLY:-}"
if [ -n "$e2e_only" ] && [ $# -gt 0 ]; then
  echo "TRUSTGATE_E2E_ONLY and cargo test arguments exclude each other" >&2
  exit 2
fi
if [ -z "$e2e_only" ] && [ $# -eq 0 ]; then
  # The benchmarks are not run here (they are not timed tests), only kept compiling; built in
  # the test profile, they share every dependency with the tests below.
  echo "==> the benchmarks compile"
  cargo test --locked $WORKSPACE --benches --no-run
  bench_status=$?
fi

if [ -z "$e2e_only" ]; then
  echo "==> cargo test"
  cargo test --locked $WORKSPACE --no-fail-fast "$@"
  cargo_status=$?
fi
if [ -z "$e2e_only" ] && [ $# -eq 0 ]; then
  # Stack use differs between debug and optimized code: the policy bounds are shown in both.
  # Compiled by rustc itself even where CI sets clippy as the wrapper (.ci/run): clippy turns
  # MIR optimizations off, and the bounds are those of the code as it ships.
  echo "==> the policy bounds in an optimized build (profile release-checks)"
  env -u RUSTC_WORKSPACE_WRAPPER -u CLIPPY_ARGS \
    cargo test --locked --profile release-checks -p trustgate-policy --lib || cargo_status=1
fi
[ $bench_status -ne 0 ] && cargo_status=$bench_status
[ $# -gt 0 ] && exit $cargo_status

echo "==> end-to-end: cargo lambda watch (log: target/watch-test.log), then pytest tests/e2e"
# The functions as `cargo run` builds them under watch (the CLI's features, as above, and not
# the dev-dependencies'), and the CLI that tests/e2e/test_cli.py runs. Built here, before any
# request waits on it.
cargo build --locked $WORKSPACE --bins || exit 1
export TRUSTGATE_E2E_CLI="$ROOT/target/debug/trustgate"
watch_port="$(local_aws free-port)"
export TRUSTGATE_TABLE=trustgate-e2e
# The deployed paths (Cargo.toml's watch router); schemathesis below uses /lambda-url/admin.
export TRUSTGATE_PUBLIC_URL="http://127.0.0.1:$watch_port"
export TRUSTGATE_ADMIN_AUTH=none
export TRUSTGATE_ALLOW_INSECURE_JWKS=true
local_aws bootstrap --endpoint "$endpoint" --table "$TRUSTGATE_TABLE" --key-alias "$TRUSTGATE_SIGNING_KEY" >/dev/null || exit 1
# --ignore-changes: the functions under test are the ones just built; an edit to the sources
# during the run must not rebuild them under the requests (a 20 s rebuild is a timeout).
setsid cargo lambda watch --features cli-features --ignore-changes -A 127.0.0.1 -P "$watch_port" >target/watch-test.log 2>&1 &
WATCH_PID=$!
local_aws answers --endpoint "http://127.0.0.1:$watch_port/" --timeout 60
# One first request per function: watch starts each on its first request.
local_aws answers --endpoint "http://127.0.0.1:$watch_port/api/organizations" --timeout 300
local_aws answers --endpoint "http://127.0.0.1:$watch_port/t/warm-up/oauth2/jwks" --timeout 300
export TRUSTGATE_E2E_TOKEN_URL="$TRUSTGATE_PUBLIC_URL"
export TRUSTGATE_E2E_ADMIN_URL="$TRUSTGATE_PUBLIC_URL"
export TRUSTGATE_E2E_WATCH_PORT="$watch_port"
# The console's browser test (tests/e2e/test_console.py) needs chromium and chromedriver:
# installed from the system's packages when missing (scripts/browser.sh says how long it took).
source scripts/browser.sh
if [ -n "$e2e_only" ]; then
  # shellcheck disable=SC2086 # a list of files, split on purpose
  python3 -m pytest $e2e_only -q -p no:cacheprovider
  e2e_status=$?
  echo "==> end-to-end ($e2e_only): exit $e2e_status"
  exit $e2e_status
fi
python3 -m pytest tests/e2e -q -p no:cacheprovider
e2e_status=$?

echo "==> schemathesis against the admin API (openapi/admin.yaml)"
# Through the /lambda-url/ form, which must keep working: a generated path outside the router
# would reach watch's default function, not the admin function's 404.
bash scripts/schemathesis.sh "http://127.0.0.1:$watch_port/lambda-url/admin"
schema_status=$?
cleanup
trap - EXIT

bash scripts/fuzz.sh
fuzz_status=$?

echo "==> cargo test: exit $cargo_status; end-to-end: exit $e2e_status;" \
  "schemathesis: exit $schema_status; fuzz smoke: exit $fuzz_status"
[ $cargo_status -eq 0 ] && [ $e2e_status -eq 0 ] && [ $schema_status -eq 0 ] && [ $fuzz_status -eq 0 ]
