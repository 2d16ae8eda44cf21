#!/usr/bin/env bash
# sdkd-bench --quick on the CPU over the op registry's perf entries: every row validated against
# its reference (a naive loop, or the same op in float64) and timed, every registry family and
# perf-only family present, no listed row dropped, and --coverage counting every family as
# benchmarked. Usage: bench_quick.sh path/to/sdkd-bench
set -u
BENCH=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails+1)); }

listed=$("$BENCH" --list --quick --device cpu | tail -1 | awk '{print $1}')
"$BENCH" --quick --device cpu --threads 2 --json "$work/quick.json" > "$work/log" 2>&1 ||
  { fail "sdkd-bench --quick exited non-zero (a row FAILED validation or threw)"; grep -v ' ok ' "$work/log"; }
"$BENCH" --coverage > "$work/coverage.txt" 2>&1 || fail "--coverage exited non-zero"

python3 - "$work/quick.json" "$work/coverage.txt" "$listed" <<'PY' || fail "JSON / coverage check"
import json, re, sys
rows = json.load(open(sys.argv[1]))["rows"]
coverage = open(sys.argv[2]).read()
assert len(rows) == int(sys.argv[3]), "ran %d rows, --list has %s" % (len(rows), sys.argv[3])
for r in rows:
    assert r["status"] == "ok" and r["validated"], r
    assert r["validated_against"], r
    assert r["ms"] > 0 and r["repeats"] >= 3, r
    assert r["max_rel_err"] <= r["tol"], r
# The families of the coverage table (its second column) all have quick rows.
table = [l.split(" | ") for l in coverage.splitlines() if " | " in l][2:]
families = {c[1].strip() for c in table}
ran = {r["op_family"] for r in rows}
assert families <= ran, "families without quick rows: %s" % sorted(families - ran)
m = re.search(r"families with benchmark rows: (\d+) of (\d+)", coverage)
assert m and m.group(1) == m.group(2) == str(len(families)), m and m.group(0)
generic = [r for r in rows if r["validated_against"] == "same op in float64 (CPU)"]
assert generic, "no generic (registry-driven) rows"
print("ok: %d quick CPU rows validated and timed (%d generic), %d families" % (len(rows), len(generic), len(families)))
PY
[ $fails -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "sdkd-bench quick registry run passed"
