#!/usr/bin/env bash
# Hostile input to the sdkd binary (issue 11 item 7, found by fuzzing the preset and safetensors
# parsers): every case must end in exit status 2 with "sdkd: error: ..." naming the file or
# option and the field, never a signal (SIGFPE, stack overflow) or "internal error".
# Usage: cli_hardening.sh path/to/sdkd
set -u
SDKD=$1
. "$(dirname "$0")/lib/expect.sh"  # fail, expect_error, expect_error_last, finish
enter_temp_dir

# A safetensors file from a header (under 64 KiB): u64 little-endian length, header padded to 8.
st_file() {
  local h=$1 n
  while [ $(( ${#h} % 8 )) -ne 0 ]; do h="$h "; done
  n=${#h}
  printf "\\x$(printf %02x $((n & 255)))\\x$(printf %02x $((n >> 8)))\\x00\\x00\\x00\\x00\\x00\\x00"
  printf '%s' "$h"
}

"$SDKD" generate ns --preset smoke --trajectories 3 --out good.npy --threads 1 2>/dev/null || { echo "FAIL: generate"; exit 1; }
T="train --data good.npy --threads 1"

# Integers: zero batch sizes divided by zero, floats were cast out of range.
expect_error_last "train.batch_size must be an integer in [1, 100000], got 0" "$SDKD" $T --preset smoke --batch 0 --out r1
echo '{"model": {"name": "unet", "hidden": 8}, "train": {"epochs": 1, "batch_size": 0}}' > batch0.json
expect_error_last "batch0.json: train.batch_size must be an integer in [1, 100000], got 0" "$SDKD" $T --preset batch0.json --out r1
echo '{"model": {"name": "unet", "hidden": 8}, "train": {"epochs": 1e30}}' > epochs.json
expect_error_last "epochs.json: train.epochs must be an integer in [1, 100000], got 1e+30" "$SDKD" $T --preset epochs.json --out r1
echo '{"model": {"name": "unet", "hidden": 1e19}, "train": {"epochs": 1}}' > hidden.json
expect_error_last "hidden.json: model.hidden must be an integer in [1, 4096], got 1e+19" "$SDKD" $T --preset hidden.json --out r1
echo '{"model": {"name": "unet", "hidden": 1099511627776}, "train": {"epochs": 1}}' > wide.json
expect_error_last "wide.json: model.hidden must be an integer in [1, 4096], got 1099511627776" "$SDKD" $T --preset wide.json --out r1
expect_error_last "model.hidden must be an integer in [1, 4096], got 1099511627776" "$SDKD" $T --preset smoke --hidden 1099511627776 --out r1

# A typo in any section is refused with the nearest key, not silently replaced by the default.
echo '{"model": {"name": "unet"}, "windw": {"stride": 2}}' > typo_top.json
expect_error_last "typo_top.json: unknown key 'windw' (did you mean 'window'?)" "$SDKD" $T --preset typo_top.json --out r1
echo '{"model": {"name": "unet"}, "window": {"output_frame": 2}}' > typo_window.json
expect_error_last "typo_window.json: window: unknown key 'output_frame' (did you mean 'output_frames'?)" "$SDKD" $T --preset typo_window.json --out r1
echo '{"model": {"name": "unet"}, "data": {"normalise": "zscore"}}' > typo_data.json
expect_error_last "typo_data.json: data: unknown key 'normalise' (did you mean 'normalize'?)" "$SDKD" $T --preset typo_data.json --out r1

# Sections that are not objects, and a preset that is not one.
echo '{"model": {"name": "unet"}, "train": [1]}' > train_list.json
expect_error_last "train_list.json: key 'train' has the wrong type: expected a JSON object" "$SDKD" $T --preset train_list.json --out r1
echo '{"model": 5, "train": {"epochs": 1}}' > model5.json
expect_error_last "model5.json: key 'model' has the wrong type" "$SDKD" $T --preset model5.json --out r1
echo '{"model": {"name": "unet"}, "train": {"epochs": 1}, "window": "x"}' > window.json
expect_error_last "window.json: key 'window' has the wrong type" "$SDKD" $T --preset window.json --out r1
echo '{"train": {"epochs": 1}, "kd": [1]}' > kd.json
expect_error_last "kd.json: key 'kd' has the wrong type" "$SDKD" distill --data good.npy --preset kd.json --out r1
echo '[1]' > list.json
expect_error_last "list.json: expected a JSON object {...}, got [1]" "$SDKD" $T --preset list.json --out r1
expect_error_last "list.json: expected a JSON object" "$SDKD" info --preset list.json

# The rest of the layout: teachers, study, split seed (demo reads them before any work).
echo '{"teachers": [{"name": "../x", "model": {"name": "simvp"}, "train": {"epochs": 1}}]}' > tname.json
expect_error_last "tname.json: teachers[0]: the teacher's name '../x' names its folder" "$SDKD" demo --preset tname.json --out r1
echo '{"teachers": [{"model": {"name": "simvp"}}]}' > tnotrain.json
expect_error_last "tnotrain.json: teachers[0]: missing key 'train'" "$SDKD" demo --preset tnotrain.json --out r1
echo '{"study": {"seeds": 2.5, "methods": ["none"]}}' > seeds.json
expect_error_last "seeds.json: study.seeds must be an integer in [1, 1000], got 2.5" "$SDKD" demo --preset seeds.json --out r1
echo '{"study": {"methods": ["none", "magic"]}}' > methods.json
expect_error_last "methods.json: study.methods: kd method 'magic' is unknown" "$SDKD" demo --preset methods.json --out r1
echo '{"split_seed": -1}' > split.json
expect_error_last "split.json: split_seed must be an integer in [0, 18446744073709551615], got -1" "$SDKD" $T --preset split.json --out r1

# 100k levels of nesting overflowed the stack (once after training, before train.json).
python3 -c "print('{\"model\": {\"name\": \"unet\", \"hidden\": 8}, \"train\": {\"epochs\": 1}, \"x\": ' + '['*100000 + ']'*100000 + '}')" > deep.json
expect_error_last "deep.json: JSON nested deeper than 64 levels" "$SDKD" $T --preset deep.json --out r1
expect_error_last "deep.json: JSON nested deeper than 64 levels" "$SDKD" demo --preset deep.json --out r1

# --out naming a file.
touch taken
expect_error_last "taken: exists and is not a folder" "$SDKD" $T --preset smoke --epochs 1 --out taken

# Safetensors headers: a number no double holds, nesting.
st_file '{"w":{"dtype":"F32","shape":[1e400],"data_offsets":[0,0]}}' > e400.safetensors
expect_error_last "e400.safetensors: header is not valid JSON" "$SDKD" eval --data good.npy --preset smoke --checkpoint e400.safetensors
st_file "{\"x\":$(printf '[%.0s' $(seq 100))$(printf ']%.0s' $(seq 100))}" > deep.safetensors
expect_error_last "deep.safetensors: header: JSON nested deeper than 64 levels" "$SDKD" eval --data good.npy --preset smoke --checkpoint deep.safetensors
st_file '{"__metadata__":{"model":"{\"name\":\"unet\",\"hidden\":1e19}"}}' > model_meta.safetensors
expect_error_last "model_meta.safetensors: metadata model.hidden must be an integer in [1, 4096], got 1e+19" "$SDKD" eval --data good.npy --preset smoke --checkpoint model_meta.safetensors

# Edited last.safetensors metadata on --resume (stoll, map::at).
mkdir -p bad_epoch no_epoch
st_file '{"__metadata__":{"epoch":"abc","best_epoch":"0","best_val_mse":"1","train_seconds":"1","history":"[]"}}' > bad_epoch/last.safetensors
expect_error_last "bad_epoch/last.safetensors: metadata 'epoch' must be an integer, got 'abc'" "$SDKD" $T --preset smoke --out bad_epoch --resume
st_file '{"__metadata__":{"best_epoch":"0"}}' > no_epoch/last.safetensors
expect_error_last "no_epoch/last.safetensors: no 'epoch' entry in the metadata" "$SDKD" $T --preset smoke --out no_epoch --resume

# The NaN guard before any checkpoint exists, and a diverged model never saved.
expect_error_last "no checkpoint has been written yet" "$SDKD" $T --preset smoke --lr 1e30 --epochs 2 --out nan
[ -e nan/best.safetensors ] || [ -e nan/last.safetensors ] && { echo "FAIL: a diverged model was saved"; fails=$((fails+1)); }

# A killed writer's temp file (a pid that no longer exists) is removed by the next write.
mkdir -p stale
( exit 0 ) & dead=$!; wait $dead
echo junk > "stale/last.safetensors.tmp.$dead"
"$SDKD" $T --preset smoke --epochs 1 --out stale >/dev/null 2>&1 || { echo "FAIL: train into stale"; fails=$((fails+1)); }
if [ -e "stale/last.safetensors.tmp.$dead" ]; then echo "FAIL: stale temp file of dead pid $dead left"; fails=$((fails+1)); else echo "ok: stale temp file removed"; fi

finish
