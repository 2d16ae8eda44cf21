#!/usr/bin/env bash
# --normalize zscore through the sdkd binary (the numbers themselves are checked in
# tests/train/test_trainer_normalization.cpp): train says which statistics it fitted and stores
# them; eval and distill read them back from the checkpoint with no flag; a resume or a teacher
# on another scale is refused; a study (teacher + students) runs normalised end to end and its
# cached teacher is not reused for an unnormalised study; bad values are one error line.
# Usage: normalize_cli.sh path/to/sdkd
set -u
SDKD=$1
. "$(dirname "$0")/lib/expect.sh"  # fail, expect_error, expect_error_last, finish
FIX=$(cd "$(dirname "$0")/../data/fixtures" && pwd)
enter_temp_dir

D=(--data "$FIX/mat5_zip.mat" --preset "$FIX/tiny_preset.json" --threads 1)
"$SDKD" train "${D[@]}" --normalize zscore --out z >z.log 2>&1 || { fail "train --normalize zscore"; cat z.log; }
grep -q "z-score (mean " z.log && echo "ok: train names the statistics: $(grep -o 'z-score ([^)]*)' z.log | head -1)" ||
  fail "train did not say which statistics it fitted"
grep -q '"normalize": "zscore"' z/train.json && echo "ok: train.json records the option" || fail "train.json lacks normalize"
for f in best last; do
  grep -a -q '"normalization":"{\\"kind\\":\\"zscore\\",\\"mean\\":' "z/$f.safetensors" && echo "ok: $f.safetensors carries the statistics" ||
    fail "$f.safetensors has no normalization metadata"
done
"$SDKD" train "${D[@]}" --out plain >plain.log 2>&1 || fail "plain train"
grep -a -q '"normalization"' plain/best.safetensors && fail "a plain run's checkpoint claims a normalisation"

# eval takes the statistics from the checkpoint; its metrics differ from the plain model's.
"$SDKD" eval "${D[@]}" --checkpoint z/best.safetensors --json z.json >/dev/null 2>&1 || fail "eval of the normalised model"
"$SDKD" eval "${D[@]}" --checkpoint plain/best.safetensors --json plain.json >/dev/null 2>&1 || fail "eval of the plain model"
[ -s z.json ] && [ -s plain.json ] && ! diff -q z.json plain.json >/dev/null && echo "ok: eval scored both" || fail "eval outputs missing or identical"

# A resume with other settings, a teacher on another scale: refused.
expect_error_last "was trained with normalisation z-score" "$SDKD" train "${D[@]}" --out z --resume --epochs 2
expect_error_last "teacher 'z_0' was trained with data normalisation z-score" \
  "$SDKD" distill "${D[@]}" --teacher z/best.safetensors --kd output --out s1
"$SDKD" distill "${D[@]}" --teacher z/best.safetensors --kd output --normalize zscore --out s2 >s2.log 2>&1 &&
  echo "ok: distill from the normalised teacher with --normalize zscore" || { fail "distill --normalize zscore"; cat s2.log; }

# Bad values: one line naming the option's field and the choices.
expect_error "--normalize must be one of none, zscore, got 'minmax'" "$SDKD" train "${D[@]}" --normalize minmax --out r1
expect_error "--loader must be one of auto, ram, stream, got 'disk'" "$SDKD" eval "${D[@]}" --loader disk --checkpoint z/best.safetensors
sed 's/"split_seed": 0,/"split_seed": 0, "data": {"normalize": true},/' "$FIX/tiny_preset.json" >bad.json
expect_error "bad.json: data: key 'normalize' has the wrong type: expected a string" "$SDKD" train --data "$FIX/mat5_zip.mat" --preset bad.json --out r2
sed 's/"split_seed": 0,/"split_seed": 0, "data": {"normalize": "minmax"},/' "$FIX/tiny_preset.json" >bad2.json
expect_error "bad2.json: data.normalize must be one of none, zscore, got 'minmax'" "$SDKD" eval --data "$FIX/mat5_zip.mat" --preset bad2.json --checkpoint z/best.safetensors
for r in r1 r2 s1; do [ -n "$(ls "$r" 2>/dev/null)" ] && fail "a failed run wrote files into $r"; done

# A normalised study end to end; the teacher it cached is retrained for a plain study.
"$SDKD" demo --preset smoke --normalize zscore --out study --threads 2 >study.log 2>&1 || { fail "demo --normalize zscore"; tail -5 study.log; }
[ -s study/metrics.json ] && echo "ok: normalised study wrote metrics.json" || fail "normalised study wrote no metrics"
grep -q '"normalize": "zscore"' study/teacher_simvp/done.json && echo "ok: the teacher record names the normalisation" ||
  fail "teacher record lacks normalize"
"$SDKD" demo --preset smoke --out study --threads 2 --methods none >study2.log 2>&1 || fail "plain demo in the same folder"
grep -q "teacher settings changed: retraining" study2.log && echo "ok: plain study retrained the teacher" ||
  fail "a normalised teacher was reused for a plain study"

finish
