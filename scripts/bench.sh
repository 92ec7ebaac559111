#!/usr/bin/env bash
# `make bench`: the load benchmark (benches/load.rs) against a stack like `make dev`'s — moto,
# the table and key bootstrapped, both functions under `cargo lambda watch` — but its own: free
# ports, release builds, and the watch output captured in target/bench-watch.log so the
# benchmark can read the function's "handled" lines. Runs beside `make dev` and `make test`.
# Stops what it started. BENCH_N, BENCH_CONCURRENCY and BENCH_RSS_EXCHANGES tune the run.
set -euo pipefail
source "$(dirname "$0")/venv.sh"
cd "$ROOT"

mkdir -p target
MOTO_PID=""
WATCH_PID=""
cleanup() {
  [ -n "$WATCH_PID" ] && kill "$WATCH_PID" 2>/dev/null
  [ -n "$MOTO_PID" ] && kill "$MOTO_PID" 2>/dev/null
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The directory of executable $1 in cargo's JSON build messages on stdin. Cargo decides where
# binaries go (CARGO_TARGET_DIR, build.target-dir, --target), so the benchmark asks it.
executable_dir() {
  python3 -c '
import json, os, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == sys.argv[1] and m.get("executable"):
        print(os.path.dirname(m["executable"]))
' "$1"
}

# Release builds first, so the first request to the watched function does not wait for one.
echo "==> cargo build --release (the functions) and the benchmark"
release_dir="$(cargo build --release --locked --bins --message-format=json-render-diagnostics | executable_dir token)"
[ -n "$release_dir" ] || { echo "cargo build reported no token executable" >&2; exit 1; }
# cargo lambda build writes the arm64 bootstraps to <target directory>/lambda.
target_dir="$(cargo metadata --format-version 1 --no-deps --locked |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
cargo bench --locked --bench load --no-run

moto_port="$(local_aws free-port)"
watch_port="$(local_aws free-port)"
endpoint="http://127.0.0.1:$moto_port"
echo "==> moto on $endpoint (log: target/moto-bench.log)"
start_moto "$moto_port" target/moto-bench.log

export AWS_ENDPOINT_URL="$endpoint"
export TRUSTGATE_TABLE=trustgate-bench
export TRUSTGATE_SIGNING_KEY=alias/trustgate-signing
export TRUSTGATE_PUBLIC_URL="http://127.0.0.1:$watch_port/lambda-url/token"
export TRUSTGATE_ALLOW_INSECURE_JWKS=true
local_aws bootstrap --endpoint "$endpoint" --table "$TRUSTGATE_TABLE" --key-alias "$TRUSTGATE_SIGNING_KEY"

echo "==> cargo lambda watch --release on 127.0.0.1:$watch_port (log: target/bench-watch.log)"
cargo lambda watch --release --ignore-changes -A 127.0.0.1 -P "$watch_port" >target/bench-watch.log 2>&1 &
WATCH_PID=$!
# The benchmark's own build may be instant: wait until the function answers (a 404 of an
# unknown organization is an answer) rather than racing the watcher's start.
local_aws answers --endpoint "$TRUSTGATE_PUBLIC_URL/t/warm-up/oauth2/jwks" --timeout 300

echo "==> benchmark"
BENCH_TOKEN_URL="$TRUSTGATE_PUBLIC_URL" \
BENCH_WATCH_LOG=target/bench-watch.log \
BENCH_RELEASE_DIR="$release_dir" \
BENCH_LAMBDA_DIR="$target_dir/lambda" \
  cargo bench --locked --bench load
