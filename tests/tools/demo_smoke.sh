#!/usr/bin/env bash
# The smoke study end to end through the real binary, checked against independent paths:
# `sdkd eval` on a saved student must reproduce that student's row of metrics.json, the
# teacher is reused on a second run, and `sdkd report` rewrites the same report.md; the
# provenance matches this machine and command, the figures hold the runs of metrics.json.
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
for f in lead_time.svg spectrum.svg band_error.svg training.svg; do test -s runs/smoke/$f || fail "no $f"; done

# Provenance, the figures' content and the headline, each against what is computed here.
SDKD="$SDKD" python3 - <<'PY' || fail "provenance, figures or headline"
import datetime, json, os, re, struct
m = json.load(open("runs/smoke/metrics.json"))
p = m["provenance"]
for k in ("commit", "dirty", "build_type", "compiler", "cxx_flags", "cuda", "blas", "cpu", "gpus", "device",
          "threads", "date_utc", "command_line"):
    assert k in p, ("provenance lacks", k)
assert p["commit"] == "unknown" or re.fullmatch(r"[0-9a-f]{4,40}", p["commit"]), p["commit"]
assert p["dirty"] in (True, False, None), p["dirty"]
assert p["threads"] == 1 and p["device"] == "cpu", (p["threads"], p["device"])
assert p["command_line"] == os.environ["SDKD"] + " demo --preset smoke --threads 1", p["command_line"]
names = [l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")]
assert p["cpu"] == (names[0] if names else "unknown"), (p["cpu"], names[:1])
when = datetime.datetime.strptime(p["date_utc"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
age = (datetime.datetime.now(datetime.timezone.utc) - when).total_seconds()
assert -5 < age < 3600, ("date_utc is not now", p["date_utc"])
assert p["cuda"] == "off" or p["cuda"].startswith("on ("), p["cuda"]
assert isinstance(p["gpus"], list) and (p["cuda"] != "off" or p["gpus"] == []), p["gpus"]  # no CUDA, no devices

# Every trained run names its folder, whose history.json has one entry per epoch run; the
# training figure has one line per run in each of its two panels.
trained = [r for r in m["rows"] if r["role"] != "baseline"]
for r in trained:
    h = json.load(open(os.path.join("runs/smoke", r["run_dir"], "history.json")))
    want = m["preset"]["train"]["epochs"] if r["role"] == "student" else m["preset"]["teachers"][0]["train"]["epochs"]
    assert len(h) == want, (r["run_dir"], len(h), want)
svg = open("runs/smoke/training.svg").read()
assert svg.count('<g class="panel">') == 2 and svg.count('<g class="series">') == 2 * len(trained), svg.count('<g class="series">')
# Lead time: every run in the top panel, the KD student in the difference panel, one zero line.
lead = open("runs/smoke/lead_time.svg").read()
runs = {(r["role"], r["model"], r["kd"]) for r in m["rows"]}
kd = {r["kd"] for r in m["rows"] if r["role"] == "student" and r["kd"] != "none"}
assert lead.count('<g class="series">') == len(runs) + len(kd) and lead.count('class="zero"') == 1
assert lead.count('class="band"') == len(runs) + len(kd)
assert "enstrophy spectrum" in open("runs/smoke/spectrum.svg").read()
# Band error: every run in the top panel, the KD student below; each row's error spectrum sums
# to half its MSE (Parseval), so the figure's curves come from the forecasts' own errors.
be = open("runs/smoke/band_error.svg").read()
assert be.count('<g class="series">') == len(runs) + len(kd) and be.count('class="zero"') == 1, be.count('<g class="series">')
for r in m["rows"]:
    assert abs(sum(r["spectrum_error"]) - 0.5 * r["mse"]) <= 1e-4 * r["mse"], (r["kd"], sum(r["spectrum_error"]), r["mse"])

# panels.png: truth, then forecast and error rows of the teacher, the student alone and the
# distilled student: 7 rows of 32 x 6 pixels, by the layout of report/figures.hpp (gap 4,
# font scale 2, two title lines).
png = open("runs/smoke/panels.png", "rb").read()
w, h = struct.unpack(">II", png[16:24])
g, f, ph = 4, 2, 32 * 6
assert h == (2 * 9 * f + g) + (7 * f + g) + g + 7 * (ph + g), (w, h)

# The headline opens the report and quotes the best method's paired change from the summary.
lines = open("runs/smoke/report.md").read().split("\n")
assert lines[2].startswith("**Headline.** "), lines[2]
s = m["summary"]
best = min((k for k in s if isinstance(s[k], dict) and k != "none"), key=lambda k: s[k]["mse_change_mean"])
assert best in lines[2] and "%+.1f%%" % (100 * s[best]["mse_change_mean"]) in lines[2], lines[2]
assert "| commit | " + p["commit"] in "\n".join(lines) and "`" + p["command_line"] + "`" in "\n".join(lines)
print("provenance, figures and headline ok")
PY

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
# The test set is the preset's extra file (12 trajectories of another seed, one window each).
assert m["test_data"].endswith("ns_smoke_test.npy") and m["test_windows"] == 12, (m["test_data"], m["test_windows"])
assert all(r["samples"] == 12 for r in rows), [r["samples"] for r in rows]
# Each per-sample MSE list averages to its MSE.
for r in rows:
    ps = r["mse_per_sample"]
    assert len(ps) == r["samples"] and abs(sum(ps) / len(ps) - r["mse"]) < 1e-9 * max(1, r["mse"]), r["model"]
# The paired interval of each KD method, recomputed from the rows: d_s = MSE_kd,s / MSE_alone,s - 1,
# mean -+ t_{0.975, n-1} sd / sqrt(n) (t from the table for 2 and 3 seeds).
t975 = {2: 12.706204736, 3: 4.302652730}
alone = {r["seed"]: r["mse"] for r in rows if r["role"] == "student" and r["kd"] == "none"}
for kd in {r["kd"] for r in rows if r["role"] == "student" and r["kd"] != "none"}:
    d = [r["mse"] / alone[r["seed"]] - 1 for r in rows if r["role"] == "student" and r["kd"] == kd]
    n = len(d)
    mean = sum(d) / n
    sd = (sum((x - mean) ** 2 for x in d) / (n - 1)) ** 0.5
    ci = m["summary"][kd]["mse_change_ci"]
    assert ci["n"] == n and abs(ci["mean"] - mean) < 1e-12, (ci, mean)
    for key, want in (("lo", mean - t975[n] * sd / n ** 0.5), ("hi", mean + t975[n] * sd / n ** 0.5)):
        assert abs(ci[key] - want) < 1e-9, (kd, key, ci[key], want)
    assert m["summary"][kd]["verdict"] == ("no effect beyond noise" if ci["lo"] <= 0 <= ci["hi"] else
                                           "gain" if ci["hi"] < 0 else "loss")
print("metrics.json rows ok:", len(rows))
PY

# The same student scored by `sdkd eval` gives the same numbers as its row.
"$SDKD" eval --data data/ns_smoke.npy --test-file data/ns_smoke_test.npy \
  --checkpoint runs/smoke/student_sdkd_s0/best.safetensors --preset smoke --threads 1 --json eval.json > /dev/null 2>&1 ||
  fail "eval"
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
grep -q "reusing student runs/smoke/student_none_s1" second.err || fail "the second run retrained a finished student"
# A run whose record says it did not finish is continued from its last checkpoint, to the
# same numbers (the training is deterministic for a thread count).
rm runs/smoke/student_sdkd_s1/done.json
"$SDKD" demo --preset smoke --threads 1 > third.txt 2> third.err || fail "third demo"
grep -q "continuing student runs/smoke/student_sdkd_s1" third.err || fail "the unfinished student was not continued"
python3 - <<'PY' || fail "the continued run changed the numbers"
import json
first = [l for l in open("first.txt") if " student " in l]
third = [l for l in open("third.txt") if " student " in l]
# The table's last column is the measured batch-1 latency; every other column must agree.
strip = lambda ls: [l.rsplit(None, 1)[0] for l in ls]
assert strip(first) == strip(third), (first, third)
print("continued run reproduces the table")
PY
echo "demo smoke: ok"
