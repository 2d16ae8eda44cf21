#!/usr/bin/env bash
# Issue 12 item 3: progress for the whole run. In a log (stderr not a terminal) every epoch is
# one timestamped line with its place in the study and the time left for the run and the
# study; --log-json writes one JSON object per epoch, equal to each run's history.json; --quiet
# prints only the results. Usage: progress_cli.sh path/to/sdkd
set -u
SDKD=$1
. "$(dirname "$0")/lib/expect.sh"  # fail, finish
enter_temp_dir

"$SDKD" demo --preset smoke --threads 2 --out study --log-json study.jsonl > demo.out 2> demo.log \
  || { cat demo.log; echo "FAIL: demo"; exit 1; }

# Every epoch line of the log: timestamp, [run r/R name], epoch e/E, val mse, both ETAs.
stamp='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z'
grep -E "\] epoch [0-9]+/[0-9]+ " demo.log > epochs.log
bad=$(grep -cvE "^$stamp \[run [0-9]+/[0-9]+ [a-z_0-9]+\] epoch [0-9]+/[0-9]+ .*, val mse [0-9.e+-]+( \(best\))?, ETA run [0-9hms.]+, study (~?[0-9hms.]+|\?)$" epochs.log)
[ "$bad" -eq 0 ] && echo "ok: $(wc -l < epochs.log) epoch lines in the log format" \
  || { fail "$bad epoch line(s) not in the format:"; grep -vE "^$stamp \[run" epochs.log | head -3; }

# The counts, computed from what the runs wrote: one log line and one JSON object per epoch of
# each run's history.json, runs numbered 1..R in the order they trained.
python3 - study study.jsonl epochs.log <<'EOF' || fail "the log and the JSON lines disagree with history.json"
import json, os, re, sys
study, jsonl, log = sys.argv[1:]
runs = sorted(d for d in os.listdir(study) if os.path.exists(os.path.join(study, d, "history.json")))
hist = {d: json.load(open(os.path.join(study, d, "history.json"))) for d in runs}
lines = [json.loads(l) for l in open(jsonl)]
total = sum(len(h) for h in hist.values())
assert len(lines) == total, f"{len(lines)} JSON lines for {total} epochs"
assert len(open(log).read().splitlines()) == total, "one log line per epoch"
order = []
for j in lines:
    h = hist[j["run"]][j["epoch"] - 1]
    assert j["val_mse"] == h["val_mse"] and j["train_loss"] == h["train_loss"], (j, h)
    assert j["runs"] == len(runs) and j["epochs"] >= j["epoch"]
    if not order or order[-1] != j["run"]:
        order.append(j["run"])
    assert j["run_index"] == len(order), (j["run"], j["run_index"])
    assert j["eta_run_s"] >= 0 and j["eta_study_s"] >= j["eta_run_s"] - 1e-9
last = lines[-1]
assert last["eta_run_s"] == 0 and last["eta_study_s"] == 0, "the last epoch leaves nothing"
print(f"ok: {total} JSON lines match the histories of {len(runs)} runs")
EOF
grep -q "study trained" demo.log && echo "ok: the study's total time is reported" || fail "no study summary line"

# --quiet: nothing on stderr, the result on stdout.
"$SDKD" generate ns --preset smoke --trajectories 3 --out d.npy --threads 1 2>/dev/null
"$SDKD" train --data d.npy --preset smoke --threads 1 --epochs 2 --out q --quiet > q.out 2> q.err || fail "quiet train"
[ -s q.err ] && fail "--quiet printed on stderr: $(head -2 q.err)"
grep -q "best validation MSE" q.out && echo "ok: --quiet keeps the result" || fail "--quiet lost the result"
# --log-json - : JSON objects on stdout, one per epoch, besides the result line.
"$SDKD" train --data d.npy --preset smoke --threads 1 --epochs 2 --out s --quiet --log-json - > s.out 2>/dev/null
[ "$(grep -c '^{' s.out)" -eq 2 ] && echo "ok: --log-json - writes to stdout" || fail "--log-json -: $(cat s.out)"
expect_error "--log-json nodir/x.jsonl: the folder nodir does not exist" "$SDKD" train --data d.npy --preset smoke --out new --log-json nodir/x.jsonl
[ -e new ] && fail "a refused --log-json created the run folder"

finish
