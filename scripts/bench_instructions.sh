#!/usr/bin/env bash
# `make bench-instructions`: the in-process budgets of `make bench-exchange` in instructions
# rather than seconds. Each case of benches/exchange.rs runs under valgrind's callgrind, which
# counts the instructions executed: the same count whatever else the machine is doing, where a
# timed ratio moves by more than a budget's margin on a shared host (BENCHMARKS.md, section 1).
# Per case: the set-up alone (part `none`), then N exchanges, then N verifies of its subject
# token (for the envelope cases, N in-process signatures); (count - set-up) / N is one of them. Instructions are not time (an RSA verify runs
# more instructions per cycle than parsing and allocating do), so this complements the timed
# figures and does not replace them. BENCH_INSTRUCTIONS_N (default 200) sets N.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${BENCH_INSTRUCTIONS_N:-200}"
command -v valgrind >/dev/null || { echo "valgrind is needed (Debian: apt-get install valgrind)" >&2; exit 2; }

echo "==> cargo bench --bench exchange --no-run"
bin="$(cargo bench --locked --bench exchange --no-run --message-format=json-render-diagnostics |
  python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "exchange" and m.get("executable"):
        print(m["executable"])
')"
[ -x "$bin" ] || { echo "cargo reported no exchange benchmark executable" >&2; exit 1; }

# Instructions callgrind collected running the benchmark with BENCH_INSTRUCTIONS=$1,$2,$n.
instructions() {
  local out
  out="$(BENCH_INSTRUCTIONS="$1,$2,$n" valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    "$bin" 2>&1)" || { echo "$out" | tail -20 >&2; exit 1; }
  # The benchmark's own process: the one valgrind names in its "Command:" line (a process it
  # forks reports a count of its own).
  local pid
  pid="$(echo "$out" | sed -n 's/^==\([0-9]*\)== Command:.*/\1/p' | head -1)"
  echo "$out" | sed -n "s/^==$pid== Collected : \([0-9]*\).*/\1/p"
}

declare -A per
for case in rs256 es256 rs256+policy rs256+actor; do
  base="$(instructions "$case" none)"
  exchange="$(instructions "$case" exchange)"
  verify="$(instructions "$case" verify)"
  per[$case,exchange]=$(( (exchange - base) / n ))
  per[$case,verify]=$(( (verify - base) / n ))
  printf '%-14s exchange %9d instructions, verify %9d\n' "$case" "${per[$case,exchange]}" "${per[$case,verify]}"
done
# Envelope signing: the exchange signs in-process, so one signature alone is counted too. Only
# with the ES256 key: setting up the RS256 case generates an RSA key, whose instruction count
# differs from process to process by more than an exchange costs (the exchange less its
# signature is the same work with either key; criterion times both).
for case in envelope-es256; do
  base="$(instructions "$case" none)"
  per[$case,exchange]=$(( ($(instructions "$case" exchange) - base) / n ))
  per[$case,sign]=$(( ($(instructions "$case" sign) - base) / n ))
  printf '%-14s exchange %9d instructions, sign %9d\n' "$case" "${per[$case,exchange]}" "${per[$case,sign]}"
done

python3 - "$n" \
  "${per[rs256,exchange]}" "${per[rs256,verify]}" "${per[es256,exchange]}" "${per[es256,verify]}" \
  "${per[rs256+policy,exchange]}" "${per[rs256+actor,exchange]}" \
  "${per[envelope-es256,exchange]}" "${per[envelope-es256,sign]}" <<'EOF'
import sys
n, rs_x, rs_v, es_x, es_v, policy_x, actor_x, env_es_x, env_es_s = (int(a) for a in sys.argv[1:])
failed = 0
def verdict(label, figure, budget):
    global failed
    ok = figure <= budget
    failed += not ok
    print(f"budget: {label} {figure:.3f} <= {budget} -> {'PASS' if ok else 'FAIL'}")
print(f"== in instructions, per operation (mean of {n}; callgrind)")
verdict("rs256 exchange / verify", rs_x / rs_v, 1.5)
verdict("es256 exchange / verify", es_x / es_v, 1.5)
verdict("a condition and two claim mappings add, in rs256 verifies:", (policy_x - rs_x) / rs_v, 0.25)
verdict("rs256 delegated exchange (two tokens) / verify", actor_x / rs_v, 3.0)
# The envelope cases exchange the same RS256 subject token, and sign for real.
verdict("envelope (ES256 key) exchange less one sign / rs256 verify", (env_es_x - env_es_s) / rs_v, 1.5)
print(f"verdict: {'PASS' if not failed else f'FAIL ({failed} failed)'}")
sys.exit(1 if failed else 0)
EOF
