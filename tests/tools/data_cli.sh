#!/usr/bin/env bash
# Users' data files through the sdkd binary: `sdkd data info` on the MAT v5 fixture prints
# every array's shape, dtype, layout and the statistics NumPy computed (tests/data/fixtures/
# stats.txt); training and evaluating on the MAT file gives exactly the numbers of the same
# data converted to .npy; --var/--layout reach every command that takes --data, and so do the
# preset's data.var/data.layout; bad input is one error line and exit status 2.
# Usage: data_cli.sh path/to/sdkd
set -u
SDKD=$1
. "$(dirname "$0")/lib/expect.sh"  # fail, expect_error, expect_error_last, finish
FIX=$(cd "$(dirname "$0")/../data/fixtures" && pwd)
enter_temp_dir

# close A B: the two numbers agree to 1e-5 relative (printf %.6g rounding).
close() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; s = (a < 0 ? -a : a) + 1e-30; exit !(d <= 1e-5 * s + 1e-12) }'; }

# ---- sdkd data info ----
info=$("$SDKD" data info "$FIX/mat5_zip.mat") || fail "data info mat5_zip.mat exited $?"
echo "$info"
grep -q "mat5_zip.mat: MAT v5, 3 numeric arrays" <<<"$info" || fail "data info: no summary line"
grep -q "^u  (6, 12, 12, 6)  float64$" <<<"$info" || fail "data info: u's shape and dtype"
grep -q "layout  NHWT (default): N = 6, T = 6 frames of 12 x 12" <<<"$info" || fail "data info: u's layout"
grep -q "not read: cel: cell array (1x2)" <<<"$info" || fail "data info: the cell array is not listed as not read"
grep -q "not read: st: struct" <<<"$info" || fail "data info: the struct is not listed as not read"
while read -r file var lo hi mean std nan inf; do
  out=$("$SDKD" data info "$FIX/$file" --var "$var") || { fail "data info $file --var $var"; continue; }
  line=$(grep "^  values" <<<"$out")
  read -r _ _ glo _ ghi _ gmean _ gstd rest <<<"$line"
  for pair in "$glo $lo min" "$ghi $hi max" "$gmean $mean mean" "$gstd $std std"; do
    set -- $pair
    close "$1" "$2" && echo "ok: $file $var $3 $1 (NumPy: $2)" || fail "$file $var: $3 is $1, NumPy says $2"
  done
  grep -qF ", $nan NaN, $inf Inf)" <<<"$line" || fail "$file $var: NaN/Inf counts: $line (NumPy: $nan NaN, $inf Inf)"
done <"$FIX/stats.txt"

expect_error "sdkd data info: FILE is required" "$SDKD" data info
expect_error "data: expected a subcommand, 'info'" "$SDKD" data show "$FIX/mat5_zip.mat"
expect_error "mat5_zip.mat: --var cel: 'cel' is a cell array" "$SDKD" data info "$FIX/mat5_zip.mat" --var cel
expect_error "missing.mat: no such file" "$SDKD" data info missing.mat
expect_error "manifest.txt: unknown file format" "$SDKD" data info "$FIX/manifest.txt"

# ---- training on the MAT file = training on its .npy conversion ----
P="$FIX/tiny_preset.json"
"$SDKD" train --data "$FIX/mat5_zip.mat" --preset "$P" --out mat --threads 1 >mat.log 2>&1 || { fail "train on .mat"; cat mat.log; }
"$SDKD" train --data "$FIX/mat5_zip_u_NTHW.npy" --preset "$P" --out npy --threads 1 >npy.log 2>&1 || { fail "train on .npy"; cat npy.log; }
m=$(grep -o '"best_val_mse": [^,]*' mat/train.json); n=$(grep -o '"best_val_mse": [^,]*' npy/train.json)
[ -n "$m" ] && [ "$m" = "$n" ] && echo "ok: train: $m on both" || fail "train: .mat gave '$m', .npy gave '$n'"
"$SDKD" eval --data "$FIX/mat5_zip.mat" --checkpoint mat/best.safetensors --preset "$P" --json mat.json --threads 1 >/dev/null 2>&1 || fail "eval on .mat"
"$SDKD" eval --data "$FIX/mat5_zip_u_NTHW.npy" --checkpoint npy/best.safetensors --preset "$P" --json npy.json --threads 1 >/dev/null 2>&1 || fail "eval on .npy"
# Timing fields differ run to run; everything else must be identical.
strip() { grep -v -E '"(infer_ms|train_seconds|peak_mem_bytes)"' "$1"; }
[ -s mat.json ] && diff <(strip mat.json) <(strip npy.json) >/dev/null && echo "ok: eval: identical metrics" || fail "eval: .mat and .npy metrics differ"
# The explicit options and the preset's data section select the same array.
"$SDKD" train --data "$FIX/mat5_zip.mat" --var u --layout NHWT --preset "$P" --out explicit --threads 1 >/dev/null 2>&1 || fail "train --var u --layout NHWT"
e=$(grep -o '"best_val_mse": [^,]*' explicit/train.json 2>/dev/null)
[ -n "$e" ] && [ "$e" = "$m" ] && echo "ok: --var u --layout NHWT: $e" || fail "--var u --layout NHWT gave '$e', the defaults '$m'"

# ---- sliding windows: --input-frames/--output-frames/--stride over the 6-frame trajectories ----
# The split of 6 trajectories is 4/1/1; a trajectory of 6 frames holds floor((6 - in - out) /
# stride) + 1 windows.
for spec in "1 1 1 20 5" "2 2 1 12 3" "1 1 3 8 2" "3 3 2 4 1"; do
  set -- $spec
  "$SDKD" train --data "$FIX/mat5_zip.mat" --preset "$P" --input-frames $1 --output-frames $2 --stride $3 \
    --out "win_$1_$2_$3" --threads 1 >win.log 2>&1 || { fail "train --input-frames $1 --output-frames $2 --stride $3"; cat win.log; continue; }
  grep -q ": $4 train / $5 val windows" win.log && echo "ok: windows $1 -> $2 stride $3: $4 train / $5 val" ||
    fail "windows $1 -> $2 stride $3: expected $4 train / $5 val windows: $(grep windows win.log)"
done
expect_error "--stride must be an integer in [1, 1000], got 0" "$SDKD" train --data "$FIX/mat5_zip.mat" --preset "$P" --stride 0 --out r0
expect_error "a window needs 4 input + 3 output frames" "$SDKD" eval --data "$FIX/mat5_zip.mat" --preset "$P" --input-frames 4 --output-frames 3 --checkpoint mat/best.safetensors

# ---- --var/--layout reach every command that takes --data; so does the preset ----
expect_error "--var cel: 'cel' is a cell array" "$SDKD" train --data "$FIX/mat5_zip.mat" --var cel --preset "$P" --out r1
expect_error "layout NTCHW names 5 axes, the array has 4" "$SDKD" distill --data "$FIX/mat5_zip.mat" --layout NTCHW --preset "$P" --kd none --out r2
expect_error "--var st: 'st' is a struct" "$SDKD" eval --data "$FIX/mat5_zip.mat" --var st --checkpoint mat/best.safetensors --preset "$P"
expect_error "layout NTHX: 'X' is not an axis letter" "$SDKD" demo --data "$FIX/mat5_zip.mat" --layout NTHX --preset smoke --out r3
sed 's/"split_seed": 0,/"split_seed": 0, "data": {"var": "a"},/' "$P" >preset_var.json
expect_error "a has shape (6, 12, 12): the default layout HWT" "$SDKD" train --data "$FIX/mat5_zip.mat" --preset preset_var.json --out r4
sed 's/"split_seed": 0,/"split_seed": 0, "data": {"layout": 5},/' "$P" >preset_bad.json
expect_error "expected a string" "$SDKD" train --data "$FIX/mat5_zip.mat" --preset preset_bad.json --out r5
expect_error "holds -Inf at index [0, 0, 1, 1]" "$SDKD" train --data "$FIX/mat5_plain.mat" --var holes --preset "$P" --out r6
for r in r1 r2 r4 r5 r6; do [ -n "$(ls "$r" 2>/dev/null)" ] && fail "a failed run wrote files into $r"; done

finish
