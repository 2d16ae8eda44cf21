#!/usr/bin/env bash
# sdkd-bench from the command line: --list, a quick validated GEMM run written as JSON, CSV
# written beside it, and one clear error naming a bad option. Usage: bench_cli.sh path/to/sdkd
# (sdkd-bench is built next to it, in bench/).
set -u
BENCH="$(dirname "$1")/bench/sdkd-bench"
if [ ! -x "$BENCH" ]; then echo "FAIL: $BENCH not found (build the sdkd-bench target)"; exit 1; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails+1)); }

# --list prints every family's quick cases and exits without running anything.
out=$("$BENCH" --list --quick 2>&1) || fail "--list exited non-zero: $out"
for family in gemm conv_fwd conv_dgrad conv_wgrad conv_transpose batch_norm_fwdbwd group_norm_fwd layer_norm_fwdbwd \
              softmax attention_fwd attention_fwdbwd rfft2 irfft2 spectral_loss adam ns_step; do
  printf '%s\n' "$out" | grep -q "^$family/" || fail "--list has no $family case"
done

# A quick GEMM run on the CPU: every row validated ("ok") and timed (ms > 0).
"$BENCH" --quick --filter '^gemm.*/cpu$' --threads 1 --json "$work/gemm.json" --csv "$work/gemm.csv" > "$work/log" 2>&1 ||
  { fail "quick gemm run exited non-zero"; cat "$work/log"; }
python3 - "$work/gemm.json" <<'PY' || fail "JSON check"
import json, sys
rows = json.load(open(sys.argv[1]))["rows"]
assert rows, "no rows"
assert {r["family"] for r in rows} >= {"gemm", "gemm_blocked"}, [r["name"] for r in rows]
for r in rows:
    assert r["status"] == "ok" and r["validated"], r
    assert r["ms"] > 0 and r["repeats"] >= 3, r
    assert r["max_rel_err"] <= r["tol"], r
    assert r["gflops"] > 0, r
print("ok: %d validated gemm rows" % len(rows))
PY
head -1 "$work/gemm.csv" | grep -q '^name,family,shape,device,status' || fail "CSV header"
[ "$(($(wc -l < "$work/gemm.csv") - 1))" -ge 2 ] || fail "CSV rows"
ls "$work" | grep -q '\.tmp' && fail "temporary files left behind"

# GPU rows without a GPU: listed as skipped with the reason, never an error.
if [ -n "$("$BENCH" --list --quick --device cuda --filter '^gemm/' | grep 'skipped: not yet measured')" ]; then
  echo "ok: GPU rows report 'not yet measured' here"
fi

# Bad options: non-zero exit and one line naming the option.
expect_error() {
  local want=$1; shift
  local msg rc
  msg=$("$BENCH" "$@" 2>&1 >/dev/null); rc=$?
  if [ $rc -eq 0 ]; then fail "'$*' succeeded"; return; fi
  case "$msg" in *"$want"*) echo "ok: $* -> $msg" ;; *) fail "'$*' said: $msg (expected '$want')" ;; esac
}
expect_error "no-such-option" --no-such-option
expect_error "--device" --device tpu --list
expect_error "--min-time" --min-time 0 --list
expect_error "--filter" --filter '([' --list
expect_error "--min-time expects a number" --min-time abc
expect_error "--threads must be in" --threads 0 --list

[ $fails -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all sdkd-bench CLI checks passed"
