#!/usr/bin/env bash
# sdkd study --config: a small grid (two regimes, the student alone and SDKD with two lambda
# candidates, two seeds) through the real binary. Checked against independent paths: each
# candidate's validation MSE against the trainer's own per-epoch validation record
# (history.json), the choice against the argmin recomputed here, the test rows against the
# chosen runs only, the paired interval recomputed from the rows, the shared teacher trained
# once, a rerun reusing every run, and bad configs refused with one line naming the field.
set -u
SDKD=$1
. "$(dirname "$0")/lib/expect.sh"  # fail, expect_error, expect_error_last, finish
src=$(cd "$(dirname "$0")/../.." && pwd)
enter_temp_dir

cat > grid.json <<'JSON'
{"name": "grid", "about": "CLI test grid", "preset": "smoke",
 "patch": {"train": {"epochs": 3}, "teachers": [{"name": "simvp",
   "model": {"name": "simvp", "hid_S": 8, "hid_T": 32, "N_S": 3, "N_T": 2, "residual": true},
   "train": {"epochs": 2, "batch_size": 4, "lr": 3e-3, "seed": 0}}]},
 "seeds": 2,
 "regimes": [{"name": "w4", "patch": {"model": {"hidden": 4}}}, {"name": "w8"}],
 "arms": [{"name": "none"},
          {"name": "sdkd", "patch": {"kd": {"method": "sdkd"}}, "grid": {"kd.lambda": [0.25, 4.0]}},
          {"name": "ee3", "patch": {"kd": {"method": "sdkd", "cutoffs": [0.25, 0.5], "bands": "equal_energy"}}}]}
JSON

plan=$("$SDKD" study --config grid.json --plan 2>&1) || fail "--plan: $plan"
echo "$plan" | grep -q "2 regime(s) x 3 arm(s), 2 seeds, 16 training runs" || fail "--plan said: $plan"
test ! -e runs || fail "--plan wrote a folder"

"$SDKD" study --config grid.json --threads 1 > first.txt 2> first.err || { tail -5 first.err; fail "study"; finish; }
for f in study_grid.json study_grid.md study_grid_gap.svg w4/metrics.json w4/report.md w8/metrics.json w8/report.md; do
  test -s runs/grid/$f || fail "no runs/grid/$f"
done
# The gap figure: one line per distilling arm (sdkd, ee3) over the two regimes, a zero line.
test "$(grep -c '<g class="series">' runs/grid/study_grid_gap.svg)" -eq 2 || fail "gap figure: not one line per arm"
grep -q 'class="zero"' runs/grid/study_grid_gap.svg && grep -q "1 = w4, 2 = w8" runs/grid/study_grid_gap.svg || fail "gap figure: zero line or regime names"
test "$(ls -d runs/grid/teacher_* | wc -l)" -eq 1 || fail "the shared teacher has more than one folder"
test "$(grep -c "\[run [0-9]*/17 teacher_simvp\] epoch" first.err)" -eq 2 || fail "the shared teacher did not train once (2 epochs)"

# The equal-energy arm fits its bands on the teacher's latent: two increasing cutoffs logged
# per run (2 regimes x 2 seeds), the same for every run (one teacher, the same windows).
cuts=$(sed -n 's/.*equal-energy bands of teacher simvp, tap latent (.* training windows): cutoffs //p' first.err | sort -u)
test "$(grep -c "equal-energy bands of teacher simvp, tap latent" first.err)" -eq 4 || fail "equal-energy bands not fitted per run"
test "$(printf '%s\n' "$cuts" | wc -l)" -eq 1 || fail "equal-energy cutoffs differ between runs: $cuts"
python3 -c "
c = [float(v) for v in '$cuts'.split(',')]
assert len(c) == 2 and 0 < c[0] < c[1] < 2 ** 0.5, c
" || fail "equal-energy cutoffs: $cuts"

python3 - <<'PY' || fail "selection, test rows or intervals"
import json, math, os
root = "runs/grid"
ov = json.load(open(f"{root}/study_grid.json"))
T975 = {1: 12.7062047362}  # Student t, 0.975 quantile, one degree of freedom (tables)
teacher_mse = set()
for reg in ov["regimes"]:
    d = os.path.join(root, reg["dir"])
    m = json.load(open(f"{d}/metrics.json"))
    sel = m["selection"]["sdkd"]
    assert [c["label"] for c in sel["candidates"]] == ["kd.lambda=0.25", "kd.lambda=4.0"], sel
    means = []
    for c in sel["candidates"]:
        # The validation MSE a study chooses by, against the trainer's own record of its best epoch.
        for v, run in zip(c["val_mse"], c["run_dirs"]):
            h = json.load(open(f"{d}/{run}/history.json"))
            best = min(e["val_mse"] for e in h)
            assert abs(v - best) <= 1e-4 * best, (run, v, best)
        means.append(sum(c["val_mse"]) / len(c["val_mse"]))
    chosen = min(range(len(means)), key=lambda i: (means[i], i))
    assert sel["chosen"] == chosen, (sel["chosen"], means)
    # Only the chosen candidate's runs are scored on the test set.
    rows = [r for r in m["rows"] if r["role"] == "student"]
    kd_dirs = [r["run_dir"] for r in rows if r["kd"] == "sdkd"]
    assert kd_dirs == sel["candidates"][chosen]["run_dirs"], (kd_dirs, sel)
    alone = [r for r in rows if r["kd"] == "none"]
    kd = [r for r in rows if r["kd"] == "sdkd"]
    assert [r["seed"] for r in alone] == [0, 1] == [r["seed"] for r in kd]
    # The paired change and its interval, recomputed.
    d_ = [k["mse"] / a["mse"] - 1 for k, a in zip(kd, alone)]
    mean = sum(d_) / 2
    sd = math.sqrt(sum((x - mean) ** 2 for x in d_))
    ci = m["summary"]["sdkd"]["mse_change_ci"]
    half = T975[1] * sd / math.sqrt(2)
    assert abs(ci["mean"] - mean) < 1e-12 and abs(ci["lo"] - (mean - half)) < 1e-9 and abs(ci["hi"] - (mean + half)) < 1e-9, (ci, mean, half)
    arm = [a for a in reg["arms"] if a["arm"] == "sdkd"][0]
    assert arm["mse_change_ci"] == ci and arm["chosen"] == sel["chosen_label"], arm
    teacher_mse.add(next(r["mse"] for r in m["rows"] if r["role"] == "teacher"))
    # The regime's model: width 4 or 8 (its parameter count differs).
    assert m["preset"]["model"]["hidden"] == (4 if reg["name"] == "w4" else 8)
assert len(teacher_mse) == 1, teacher_mse  # one teacher, scored once, in both regimes
w4, w8 = (json.load(open(f"{root}/{r}/metrics.json")) for r in ("w4", "w8"))
p4 = next(r["params"] for r in w4["rows"] if r["role"] == "student")
p8 = next(r["params"] for r in w8["rows"] if r["role"] == "student")
assert p4 < p8, (p4, p8)
md = open(f"{root}/study_grid.md").read()
assert md.count("| w4 |") == 3 and md.count("| w8 |") == 3 and "chosen on validation" in md, md
print("selection, test rows and intervals check out")
PY

# A rerun reuses every run and writes the same numbers.
cp runs/grid/study_grid.json first.json
"$SDKD" study --config grid.json --threads 1 > second.txt 2> second.err || fail "second study"
test "$(grep -c "^reusing student" second.err)" -eq 16 || fail "the rerun did not reuse the 16 students"
grep -q "reusing teacher" second.err || fail "the rerun did not reuse the teacher"
python3 -c "
import json
a, b = json.load(open('first.json')), json.load(open('runs/grid/study_grid.json'))
assert a['regimes'] == b['regimes'], 'the rerun changed the numbers'
" || fail "rerun numbers"

# The demo's own study takes grids too (study.grids in the preset): the grid's arm trains one
# folder per candidate and seed, and the choice on validation is printed and recorded.
python3 - "$src/configs/smoke.json" <<'PY' || fail "writing the grid preset"
import json, sys
p = json.load(open(sys.argv[1]))
g = json.load(open("grid.json"))
p["train"]["epochs"] = 3
p["teachers"] = g["patch"]["teachers"]
p["study"] = {"seeds": 2, "methods": ["none", "sdkd"], "grids": {"sdkd": {"kd.lambda": [0.25, 4.0]}}}
json.dump(p, open("demo_grid.json", "w"))
for name, grids, in [("bad_grid_method", {"sdkx": {"kd.lambda": [1]}}), ("bad_grid_path", {"sdkd": {"train.epochs": [1]}}),
                     ("bad_grid_value", {"sdkd": {"kd.cutoffs": [[0.5, 0.2]]}})]:
    p["study"]["grids"] = grids
    json.dump(p, open(name + ".json", "w"))
PY
"$SDKD" demo --preset demo_grid.json --out dgrid --threads 1 > dgrid.txt 2> dgrid.err || { tail -5 dgrid.err; fail "demo with grids"; }
grep -q "^arm sdkd: kd.lambda=.* chosen on validation" dgrid.txt || fail "demo with grids printed no choice: $(tail -3 dgrid.txt)"
for d in student_none_s0 student_sdkd_c0_s0 student_sdkd_c1_s1; do test -s dgrid/$d/best.safetensors || fail "no dgrid/$d"; done
python3 -c "
import json
m = json.load(open('dgrid/metrics.json'))
sel = m['selection']['sdkd']
assert [c['label'] for c in sel['candidates']] == ['kd.lambda=0.25', 'kd.lambda=4.0'], sel
" || fail "demo with grids: metrics.json selection"
expect_error "study.grids.sdkx: kd method 'sdkx' is unknown" "$SDKD" demo --preset bad_grid_method.json --out bad1
expect_error "grids vary kd settings only" "$SDKD" demo --preset bad_grid_path.json --out bad2
expect_error "study.grids.sdkd (kd.cutoffs=[0.5,0.2]): " "$SDKD" demo --preset bad_grid_value.json --out bad3
test ! -e bad1 && test ! -e bad2 && test ! -e bad3 || fail "a bad grid preset wrote a folder"

# Bad configs: one line naming the file and the field, nothing written.
bad() {  # bad NAME JSON WANT
  printf '%s\n' "$2" > "$1.json"
  expect_error "$3" "$SDKD" study --config "$1.json" --out "out_$1"
  test ! -e "out_$1" || fail "$1: an output folder was written"
}
bad typo '{"preset": "smoke", "arm": []}' "typo.json: unknown key 'arm' (did you mean 'arms'?)"
bad noref '{"preset": "smoke", "arms": [{"name": "sdkd", "patch": {"kd": {"method": "sdkd"}}}]}' 'one arm must be named "none"'
bad refkd '{"preset": "smoke", "arms": [{"name": "none", "patch": {"kd": {"method": "sdkd"}}}]}' "its kd.method must be \"none\""
bad twice '{"preset": "smoke", "arms": [{"name": "none"}, {"name": "none"}]}' "used twice"
bad grid '{"preset": "smoke", "arms": [{"name": "none"}, {"name": "k", "patch": {"kd": {"method": "sdkd"}}, "grid": {"kd.lambda": 0.5}}]}' "kd.lambda must be a non-empty list"
bad gridval '{"preset": "smoke", "arms": [{"name": "none"}, {"name": "k", "patch": {"kd": {"method": "sdkd"}}, "grid": {"kd.lambda": [-1]}}]}' "lambda"
bad regime '{"preset": "smoke", "regimes": [{"name": "r", "patch": {"data": {"file": "x.npy"}}}], "arms": [{"name": "none"}]}' "may not change 'data'"
bad folder '{"preset": "smoke", "arms": [{"name": "none"}, {"name": "../x"}]}' "names a folder"
bad preset '{"preset": "nosuch", "arms": [{"name": "none"}]}' "unknown preset 'nosuch'"
# The shipped study files are valid plans.
for f in "$src"/configs/studies/*.json; do
  out=$("$SDKD" study --config "$f" --plan 2>&1) || fail "$f: $out"
  echo "$out" | grep -q "training runs" || fail "$f --plan said: $out"
done
expect_error "--config FILE is required" "$SDKD" study
expect_error "missing.json" "$SDKD" study --config missing.json
finish
