#!/usr/bin/env bash
# Fuzzing of the parsers of untrusted input with cargo-fuzz (libFuzzer), targets in fuzz/.
#   scripts/fuzz.sh            smoke: every target for 10 s from the committed seeds (make test)
#   scripts/fuzz.sh 600 jwt_parse   a longer run of one target (see SECURITY.md)
# Needs a nightly toolchain (without one the smoke is skipped with a message, and
# tests/properties.rs still covers every entry point) and cargo-fuzz, which is installed from
# crates.io into ~/.cargo/bin when missing (about 2 minutes; TRUSTGATE_FUZZ_INSTALL=0 skips
# instead). TRUSTGATE_FUZZ=0 skips the smoke altogether.
# New inputs go to a temporary corpus, so the seeds in fuzz/seeds stay as committed; a crash is
# written to fuzz/artifacts/<target>/ and fails the run.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-10}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(form_and_basic jwt_parse jwks_parse certificate_parse admin_input)

if [ "${TRUSTGATE_FUZZ:-1}" = 0 ]; then
  echo "==> fuzz smoke skipped (TRUSTGATE_FUZZ=0)"
  exit 0
fi
if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "==> fuzz smoke skipped: no nightly toolchain (tests/properties.rs covers the same entry points)"
  exit 0
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  if [ "${TRUSTGATE_FUZZ_INSTALL:-1}" = 1 ]; then
    echo "==> installing cargo-fuzz (crates.io) into ~/.cargo/bin"
    cargo install cargo-fuzz --locked || exit 1
  else
    echo "==> fuzz smoke skipped: cargo-fuzz is not installed and TRUSTGATE_FUZZ_INSTALL=0"
    echo "    (tests/properties.rs covers the same entry points)"
    exit 0
  fi
fi

cd "$ROOT/fuzz"
# .ci/run makes clippy-driver the rustc of the main workspace's builds; that driver is the stable
# toolchain's and cannot compile against the crates nightly builds here ("compiled by an
# incompatible version of rustc"), so the fuzz build runs without it.
unset RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS
# No sanitizer: the code under test is safe Rust (a panic or an abort is what we look for), and
# an ASan build of the AWS SDK dependencies takes several times longer. libFuzzer's own limits
# catch unbounded allocation (-malloc_limit_mb) and slow inputs (-timeout).
echo "==> cargo fuzz build (fuzz/target)"
cargo +nightly fuzz build -O --sanitizer none || exit 1
status=0
for target in "${targets[@]}"; do
  corpus="$(mktemp -d)"
  echo "==> fuzz $target for ${seconds}s"
  if ! cargo +nightly fuzz run -O --sanitizer none "$target" "$corpus" "seeds/$target" -- \
      -max_total_time="$seconds" -max_len=20000 -timeout=5 -rss_limit_mb=1024 \
      -malloc_limit_mb=256 -print_final_stats=1 >"$corpus.log" 2>&1; then
    tail -40 "$corpus.log"
    status=1
  else
    grep -E "stat::number_of_executed_units|Done" "$corpus.log" | tail -2
  fi
  rm -rf "$corpus" "$corpus.log"
done
exit $status
