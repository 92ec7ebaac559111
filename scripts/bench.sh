#!/usr/bin/env bash
# `make bench`: the load benchmark (benches/load.rs) against a stack like `make dev`'s — moto,
# the table and keys bootstrapped, the functions under `cargo lambda watch` — but its own: free
# ports, release builds, and the watch output captured in target/bench-watch.log so the
# benchmark can read the function's "handled" lines. Both signing modes in the same run: a
# second watch serves the same release functions with TRUSTGATE_SIGNING_MODE=envelope (its
# output in target/bench-watch-envelope.log), its first key made by invoking rotate once, as
# `make dev` does. Then the Lambda build (`cargo lambda build --release --arm64`, what
# infra/template.yaml deploys) for the sizes, and the panic check (scripts/panic_check.sh).
# Runs beside `make dev` and `make test`. Stops what it started. BENCH_N, BENCH_CONCURRENCY
# and BENCH_RSS_EXCHANGES tune the run; BENCH_ARM64=0 and BENCH_PANIC=0 skip those two steps.
# BENCH_AWS=split (the default) serves DynamoDB and KMS from two moto servers, through the
# SDK's AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL_KMS: each moto answers one request at a
# time, so with one server a DynamoDB read and a KMS Sign that the function makes concurrently
# (the configuration generation read beside the signing) would queue behind each other.
# BENCH_AWS=shared is the single server of `make dev` (the layout of the earlier figures).
# With split, each moto is pinned to a core of its own (BENCH_PIN=0 leaves them to the
# scheduler): on a 2-core machine two Python emulators otherwise take CPU from each other, so a
# read beside a Sign slows the Sign, which real DynamoDB and KMS (separate fleets) never do.
set -euo pipefail
source "$(dirname "$0")/venv.sh"
cd "$ROOT"

mkdir -p target
MOTO_PID=""
KMS_MOTO_PID=""
WATCH_PID=""
ENVELOPE_WATCH_PID=""
cleanup() {
  [ -n "$WATCH_PID" ] && kill "$WATCH_PID" 2>/dev/null
  [ -n "$ENVELOPE_WATCH_PID" ] && kill "$ENVELOPE_WATCH_PID" 2>/dev/null
  [ -n "$MOTO_PID" ] && kill "$MOTO_PID" 2>/dev/null
  [ -n "$KMS_MOTO_PID" ] && kill "$KMS_MOTO_PID" 2>/dev/null
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

# BENCH_GENERATION=1 also measures the configuration generation read (BENCHMARKS.md, section
# 3): the token function built without it (a feature for benchmarks only) is the baseline,
# copied aside before the real build (cargo keeps both builds, so switching back only relinks).
baseline=""
if [ "${BENCH_GENERATION:-0}" = 1 ]; then
  echo "==> cargo build --release: the token function without the generation read (baseline)"
  baseline_dir="$(cargo build --release --locked -p trustgate --bin token --features bench-without-generation-read \
    --message-format=json-render-diagnostics | executable_dir token)"
  [ -n "$baseline_dir" ] || { echo "cargo build reported no token executable" >&2; exit 1; }
  baseline="$baseline_dir/token-without-generation-read"
  cp "$baseline_dir/token" "$baseline"
fi

# Release builds first, so the first request to the watched function does not wait for one.
# `-p trustgate`: the functions alone, as deployment builds them, so no other member's features
# (the CLI's, the panic probe's) are unified into what is measured (tests/workspace.rs).
echo "==> cargo build --release (the functions) and the benchmark"
release_dir="$(cargo build --release --locked -p trustgate --bins --message-format=json-render-diagnostics | executable_dir token)"
[ -n "$release_dir" ] || { echo "cargo build reported no token executable" >&2; exit 1; }
# cargo lambda build writes the arm64 bootstraps to <target directory>/lambda.
target_dir="$(cargo metadata --format-version 1 --no-deps --locked |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
cargo bench --locked --bench load --no-run

# The deployed build: arm64 (infra/template.yaml, Architectures), cross-compiled by cargo lambda
# through zig (requirements-bench.txt, ~100 MB, kept out of make test's requirements).
if [ "${BENCH_ARM64:-1}" = 1 ]; then
  stamp="$VENV/.requirements-bench-$(cksum < requirements-bench.txt | cut -d' ' -f1)"
  if [ ! -f "$stamp" ]; then
    echo "==> installing zig (requirements-bench.txt) into $VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r requirements-bench.txt
    touch "$stamp"
  fi
  if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
    rustup target add aarch64-unknown-linux-gnu
  fi
  echo "==> cargo lambda build --release --arm64 (token, admin, rotate)"
  cargo lambda build --release --arm64 --locked -p trustgate --bin token --bin admin --bin rotate
fi

aws_layout="${BENCH_AWS:-split}"
case "$aws_layout" in
  split | shared) ;;
  *) echo "BENCH_AWS must be split or shared, not $aws_layout" >&2; exit 2 ;;
esac
moto_port="$(local_aws free-port)"
endpoint="http://127.0.0.1:$moto_port"
echo "==> moto on $endpoint (log: target/moto-bench.log)"
start_moto "$moto_port" target/moto-bench.log
kms_endpoint="$endpoint"
if [ "$aws_layout" = split ]; then
  kms_port="$(local_aws free-port)"
  kms_endpoint="http://127.0.0.1:$kms_port"
  echo "==> a second moto for KMS on $kms_endpoint (log: target/moto-bench-kms.log)"
  pid_of_first="$MOTO_PID"
  start_moto "$kms_port" target/moto-bench-kms.log
  KMS_MOTO_PID="$MOTO_PID"
  MOTO_PID="$pid_of_first"
  if [ "${BENCH_PIN:-1}" = 1 ] && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
    # -a: every thread of each server. The functions and the benchmark stay unpinned.
    taskset -a -p -c 0 "$KMS_MOTO_PID" >/dev/null
    taskset -a -p -c 1 "$MOTO_PID" >/dev/null
    echo "==> KMS moto pinned to CPU 0, DynamoDB moto to CPU 1"
  fi
fi
watch_port="$(local_aws free-port)"

# The global endpoint, and each service's own (which the SDK prefers): the functions, the
# benchmark's own clients and the bootstrap all follow them.
export AWS_ENDPOINT_URL="$endpoint"
export AWS_ENDPOINT_URL_DYNAMODB="$endpoint"
export AWS_ENDPOINT_URL_KMS="$kms_endpoint"
export TRUSTGATE_TABLE=trustgate-bench
export TRUSTGATE_SIGNING_KEY=alias/trustgate-signing
# Read in envelope mode only; the kms-mode functions ignore it.
export TRUSTGATE_WRAPPING_KEY=alias/trustgate-wrapping
export TRUSTGATE_PUBLIC_URL="http://127.0.0.1:$watch_port/lambda-url/token"
export TRUSTGATE_ALLOW_INSECURE_JWKS=true
# The bootstrap makes the table and the key at one endpoint; with two servers, each keeps the
# half it serves (the other half is unused).
bootstrap() {
  local_aws bootstrap --endpoint "$1" --table "$TRUSTGATE_TABLE" --key-alias "$TRUSTGATE_SIGNING_KEY" \
    --wrapping-key-alias "$TRUSTGATE_WRAPPING_KEY"
}
bootstrap "$endpoint"
if [ "$kms_endpoint" != "$endpoint" ]; then
  bootstrap "$kms_endpoint"
fi
echo "==> AWS layout: $aws_layout (DynamoDB $endpoint, KMS $kms_endpoint)"

echo "==> cargo lambda watch --release on 127.0.0.1:$watch_port (log: target/bench-watch.log)"
cargo lambda watch --release --ignore-changes -A 127.0.0.1 -P "$watch_port" >target/bench-watch.log 2>&1 &
WATCH_PID=$!
# The benchmark's own build may be instant: wait until the function answers (a 404 of an
# unknown organization is an answer) rather than racing the watcher's start.
local_aws answers --endpoint "$TRUSTGATE_PUBLIC_URL/t/warm-up/oauth2/jwks" --timeout 300

# Envelope mode: the same release functions under a second watch, its address its public URL.
envelope_port="$(local_aws free-port)"
envelope_url="http://127.0.0.1:$envelope_port/lambda-url/token"
echo "==> envelope mode: cargo lambda watch --release on 127.0.0.1:$envelope_port (log: target/bench-watch-envelope.log)"
# BENCH_ENVELOPE_ALG (default RS256): the algorithm of the key rotate makes (the token function
# signs with whatever key is current).
TRUSTGATE_SIGNING_MODE=envelope TRUSTGATE_PUBLIC_URL="$envelope_url" TRUSTGATE_SIGNING_ALG="${BENCH_ENVELOPE_ALG:-RS256}" \
  cargo lambda watch --release --ignore-changes -A 127.0.0.1 -P "$envelope_port" >target/bench-watch-envelope.log 2>&1 &
ENVELOPE_WATCH_PID=$!
local_aws answers --endpoint "http://127.0.0.1:$envelope_port/" --timeout 300
echo "==> envelope mode: invoking the rotate function once (the first key, which signs at once)"
cargo lambda invoke rotate -A 127.0.0.1 -P "$envelope_port" --data-ascii '{}'
echo

echo "==> benchmark"
BENCH_TOKEN_URL="$TRUSTGATE_PUBLIC_URL" \
BENCH_WATCH_LOG=target/bench-watch.log \
BENCH_ENVELOPE_TOKEN_URL="$envelope_url" \
BENCH_ENVELOPE_WATCH_LOG=target/bench-watch-envelope.log \
BENCH_RELEASE_DIR="$release_dir" \
BENCH_LAMBDA_DIR="$target_dir/lambda" \
BENCH_BASELINE_TOKEN="$baseline" \
  cargo bench --locked --bench load

if [ "${BENCH_PANIC:-1}" = 1 ]; then
  echo
  bash scripts/panic_check.sh
fi
