#!/usr/bin/env bash
# The smoke study end to end through the real binary, checked against independent paths:
# `sdkd eval` on a saved student must reproduce that student's row of metrics.json, the
# teacher is reused on a second run, and `sdkd report` rewrites the same report.md.
set -u
SDKD=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*"; exit 1; }

"$SDKD" demo --preset smoke --threads 1 > first.txt 2> first.err || { tail -5 first.err; fail "demo --preset smoke"; }
test -s runs/smoke/metrics.json || fail "no metrics.json"
test -s runs/smoke/report.md || fail "no report.md"
test -s runs/smoke/panels.png || fail "no panels.png"

python3 - <<'PY' || fail "metrics.json content"
import json
m = json.load(open("runs/smoke/metrics.json"))
rows = m["rows"]
need = {"model", "role", "kd", "seed", "mse", "mae", "rel_l2", "ssim", "psnr", "params", "flops",
        "train_seconds", "infer_ms", "peak_mem_bytes"}
for r in rows:
    missing = need - set(r)
    assert not missing, ("row lacks", missing)
roles = [(r["role"], r["kd"]) for r in rows]
assert ("teacher", "-") in roles and ("student", "none") in roles and ("student", "sdkd") in roles, roles
assert rows[-1]["model"] == "persistence"
# Each MSE must equal the mean of its per-lead values (accumulated separately).
for r in rows:
    lead = r["mse_per_lead"]
    assert abs(sum(lead) / len(lead) - r["mse"]) < 1e-9 * max(1, r["mse"]), r["model"]
print("metrics.json rows ok:", len(rows))
PY

# The same student scored by `sdkd eval` gives the same numbers as its row.
"$SDKD" eval --data data/ns_smoke.npy --checkpoint runs/smoke/student_sdkd_s0/best.safetensors --preset smoke \
  --threads 1 --json eval.json > /dev/null 2>&1 || fail "eval"
python3 - <<'PY' || fail "eval disagrees with the demo's row"
import json
demo = [r for r in json.load(open("runs/smoke/metrics.json"))["rows"] if r["role"] == "student" and r["kd"] == "sdkd"][0]
ev = json.load(open("eval.json"))["rows"][0]
for k in ("mse", "mae", "rel_l2", "ssim"):
    assert abs(demo[k] - ev[k]) <= 1e-6 * max(1.0, abs(demo[k])), (k, demo[k], ev[k])
print("eval reproduces the demo row")
PY

cp runs/smoke/report.md first_report.md
"$SDKD" report runs/smoke > /dev/null || fail "report"
cmp -s first_report.md runs/smoke/report.md || fail "sdkd report wrote a different report.md"

"$SDKD" demo --preset smoke --threads 1 --methods none > second.txt 2> second.err || fail "second demo"
grep -q "reusing teacher" second.err || fail "the second run retrained the teacher"
echo "demo smoke: ok"
