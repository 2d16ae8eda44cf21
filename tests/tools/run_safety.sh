#!/usr/bin/env bash
# Issue 12 items 1-2: every bad value is refused before any work, in one line naming the option
# and the range, with no folder or file created; nothing a user has is overwritten; a diverged
# or damaged model is never saved, resumed or loaded. Usage: run_safety.sh path/to/sdkd
set -u
SDKD=$1
. "$(dirname "$0")/lib/expect.sh"  # fail, expect_error, expect_error_last, finish
enter_temp_dir

"$SDKD" generate ns --preset smoke --trajectories 3 --out good.npy --threads 1 2>/dev/null || { echo "FAIL: generate"; exit 1; }
"$SDKD" train --data good.npy --preset smoke --threads 1 --epochs 1 --out teacher >/dev/null 2>&1 || { echo "FAIL: train"; exit 1; }
T="train --data good.npy --preset smoke --threads 1"
D="distill --data good.npy --preset smoke --threads 1 --teacher teacher/best.safetensors"

# refused CMD...: one error line containing WANT, and the run folder "new" not created.
refused() {
  local want=$1; shift
  expect_error "$want" "$@"
  [ -e new ] && { fail "'$*' created the folder 'new' before refusing"; rm -rf new; }
}

# ---- 1. parse errors name the option; values out of range name it and the range ----
refused "--epochs: 'abc' is not an integer" "$SDKD" $T --epochs abc --out new
refused "--epochs: '2.5' is not an integer" "$SDKD" $T --epochs=2.5 --out new
refused "--lr: 'fast' is not a number" "$SDKD" $T --lr fast --out new
refused "--seed: '-3' is out of range (expected a non-negative integer" "$SDKD" $T --seed -3 --out new
refused "--epochs: '99999999999999999999' is out of range" "$SDKD" $T --epochs 99999999999999999999 --out new
refused "--seeds: 'x' is not an integer" "$SDKD" demo --preset smoke --seeds x --out new
refused "--trajectories: 'many' is not an integer" "$SDKD" generate ns --preset smoke --trajectories many --out new/x.npy
refused "--batch -1: train.batch_size must be an integer in [1, 100000], got -1" "$SDKD" $T --batch -1 --out new
refused "--epochs 100001: train.epochs must be an integer in [1, 100000], got 100001" "$SDKD" $T --epochs 100001 --out new
refused "--schedule foo: unknown learning-rate schedule 'foo' (expected constant, cosine or onecycle)" "$SDKD" $T --schedule foo --out new
refused "--weight-decay -1: train.weight_decay must be a finite number >= 0, got -1" "$SDKD" $T --weight-decay -1 --out new
refused "--grad-clip -0.5: train.grad_clip must be a finite number >= 0, got -0.5" "$SDKD" $T --grad-clip -0.5 --out new
refused "--patience -1: train.patience must be an integer in [0, 100000], got -1" "$SDKD" $T --patience -1 --out new
refused "--lr 0: train.lr must be a finite number > 0, got 0" "$SDKD" $T --lr 0 --out new
refused "--hidden 0: model.hidden must be an integer in" "$SDKD" $T --hidden 0 --out new
refused "--cuda-graph captures CUDA work: it needs --device cuda" "$SDKD" $T --cuda-graph --out new
refused "--alpha -1: kd.alpha must be a finite number >= 0, got -1" "$SDKD" $D --alpha -1 --out new
refused "--cutoffs 0.5,0.2: kd.cutoffs must be strictly increasing, got 0.5 then 0.2" "$SDKD" $D --cutoffs 0.5,0.2 --out new
refused "--cutoffs 2: kd.cutoffs[0] must be below sqrt(2)" "$SDKD" $D --cutoffs 2 --out new
refused "--kd magic: kd method 'magic' is unknown" "$SDKD" $D --kd magic --out new
refused "--weighting best: kd weighting 'best' is unknown (expected aver or aekd)" "$SDKD" $D --weighting best --out new
refused "needs at least one --teacher" "$SDKD" distill --data good.npy --preset smoke --kd sdkd --out new
# demo: everything before the data is generated (data/ stays absent) or a teacher trains.
refused "--methods: kd method 'foo' is unknown" "$SDKD" demo --preset smoke --methods none,foo --out new
refused "--batch -1: train.batch_size must be an integer" "$SDKD" demo --preset smoke --batch -1 --out new
refused "--cuda-graph captures CUDA work" "$SDKD" demo --preset smoke --cuda-graph --out new
refused "--seeds must be an integer in [1, 1000], got 0" "$SDKD" demo --preset smoke --seeds 0 --out new
refused "--cutoffs 0.3,0.1: kd.cutoffs must be strictly increasing" "$SDKD" demo --preset smoke --cutoffs 0.3,0.1 --out new
[ -e data ] && fail "a refused demo generated its data"
# Output paths that cannot be created, checked before the simulation or the data scan.
refused "good.npy/run: cannot create the output folder: $work/good.npy is not a folder" "$SDKD" $T --out good.npy/run
refused "good.npy: exists and is not a folder" "$SDKD" generate ns --preset smoke --trajectories 3 --out good.npy/x.npy
refused "good.npy/demo: cannot create the output folder" "$SDKD" demo --preset smoke --out good.npy/demo

# ---- 2. nothing lost ----
# generate: someone else's file is kept; our identical output is reused; --force replaces it.
echo "my notes" > notes.npy
refused "notes.npy: exists and is not the output of these parameters (there is no notes.npy.json beside it); refusing to overwrite it" \
  "$SDKD" generate ns --preset smoke --trajectories 3 --out notes.npy
[ "$(cat notes.npy)" = "my notes" ] || fail "generate overwrote notes.npy"
refused "good.npy: exists and is not the output of these parameters (it was made with other parameters (trajectories 3 -> 4))" \
  "$SDKD" generate ns --preset smoke --trajectories 4 --out good.npy
sum=$(md5sum < good.npy)
out=$("$SDKD" generate ns --preset smoke --trajectories 3 --out good.npy --threads 1 2>&1) || fail "identical output refused: $out"
case "$out" in *"using cached good.npy"*) echo "ok: identical output reused" ;; *) fail "identical output not reused: $out" ;; esac
[ "$(md5sum < good.npy)" = "$sum" ] || fail "reusing good.npy changed it"
"$SDKD" generate ns --preset smoke --trajectories 3 --out notes.npy --force --threads 1 2>/dev/null || fail "--force refused"
cmp -s notes.npy good.npy && echo "ok: --force regenerated notes.npy" || fail "--force did not write our output over notes.npy"

# train: a folder holding another run is refused without --resume and left as it was.
sum=$(md5sum < teacher/best.safetensors)
expect_error "teacher: holds another run (last.safetensors); pass --resume to continue it" "$SDKD" $T --epochs 1 --out teacher
[ "$(md5sum < teacher/best.safetensors)" = "$sum" ] || fail "a refused run changed teacher/best.safetensors"
# --resume without a checkpoint says it starts fresh.
out=$("$SDKD" $T --epochs 1 --out fresh --resume 2>&1 >/dev/null)
case "$out" in *"fresh: no last.safetensors to resume from, starting a fresh run"*) echo "ok: fresh start said" ;;
  *) fail "--resume without a checkpoint: $out" ;; esac

# A diverged run: no non-finite best.safetensors, and the guard names a real, finite checkpoint.
expect_error_last "no checkpoint has been written yet" "$SDKD" $T --lr 1e10 --epochs 2 --out nan
[ -e nan/best.safetensors ] && fail "a diverged run saved nan/best.safetensors"
cp -r fresh resumed
expect_error_last "the last good checkpoint is resumed/last.safetensors" "$SDKD" $T --lr 1e10 --epochs 3 --out resumed --resume
"$SDKD" eval --data good.npy --preset smoke --checkpoint resumed/last.safetensors >/dev/null 2>&1 \
  || fail "the checkpoint the NaN guard named cannot be evaluated"

# A checkpoint with a NaN weight (edited here) is refused at load, as a model and as a teacher,
# and on --resume; the file is named.
bad=$(python3 - teacher/best.safetensors nan.safetensors <<'EOF'
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
name = sorted(k for k in header if k != "__metadata__" and header[k]["dtype"] == "F32")[0]
start = 8 + n + header[name]["data_offsets"][0]
raw = raw[:start] + struct.pack("<f", float("nan")) + raw[start + 4:]
open(sys.argv[2], "wb").write(raw)
print(name)
EOF
)
expect_error "nan.safetensors: tensor '$bad' holds non-finite values (NaN or infinity)" \
  "$SDKD" eval --data good.npy --preset smoke --checkpoint nan.safetensors
refused "nan.safetensors: tensor '$bad' holds non-finite values" \
  "$SDKD" distill --data good.npy --preset smoke --threads 1 --teacher nan.safetensors --out new
mkdir -p damaged && cp fresh/history.json damaged/ && cp nan.safetensors damaged/last.safetensors
expect_error_last "damaged/last.safetensors: tensor '$bad' holds non-finite values (NaN or infinity); this checkpoint cannot be resumed" \
  "$SDKD" $T --epochs 2 --out damaged --resume

finish
