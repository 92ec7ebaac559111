#!/usr/bin/env bash
# `make panic-check` (also the last step of `make bench`): a panicking request fails alone in a
# binary built the way the deployment builds it. `cargo lambda build --release` (what `sam
# build` runs) builds probes/panic-probe with the workspace's [profile.release] plus cargo
# lambda's own "release optimizations", which include `panic = "abort"` unless the profile sets
# `panic`; this prints what it added and fails if that is an abort. Then the ignored test of
# tests/panics.rs runs the probe (4 requests at once, one panicking) under the fake Lambda
# Runtime API. Host architecture: the probe must run here. An LTO release build of the probe
# (the Lambda runtime, hyper, tokio) takes minutes on one core, hence not in `make test`.
set -euo pipefail
source "$(dirname "$0")/venv.sh"
cd "$ROOT"
mkdir -p target

target_dir="$(cargo metadata --format-version 1 --no-deps --locked |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
echo "==> cargo lambda build --release -p trustgate-panic-probe (log: target/panic-probe-build.log)"
started=$(date +%s)
# -v: cargo lambda logs the configuration it adds to the release profile.
if ! cargo lambda build --release --locked -p trustgate-panic-probe -v >target/panic-probe-build.log 2>&1; then
  tail -n 30 target/panic-probe-build.log >&2
  exit 1
fi
echo "built (or found up to date) in $(($(date +%s) - started)) s"
added="$(grep -o 'release optimizations config=.*' target/panic-probe-build.log || true)"
if [ -z "$added" ]; then
  echo "cargo lambda did not log its release optimizations (another version?): cannot check panic" >&2
  exit 1
fi
echo "cargo lambda: $added"
if grep -q 'panic' <<<"$added"; then
  echo "cargo lambda overrides panic in the release profile: one panic would end every concurrent request" >&2
  exit 1
fi

echo "==> tests/panics.rs against $target_dir/lambda/panic-probe/bootstrap"
TRUSTGATE_PANIC_PROBE="$target_dir/lambda/panic-probe/bootstrap" \
  cargo test --locked --test panics -- --ignored
