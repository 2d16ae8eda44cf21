#!/usr/bin/env bash
# Several processes under mpirun (docs/DISTRIBUTED.md), on this machine's CPU:
# - a 2-rank `generate ns` writes the 1-rank file byte for byte (also in chunks of 3);
# - 2 ranks at per-rank batch b with synchronised BatchNorm train as 1 rank at batch 2b: the
#   same losses and validation MSEs within float32 reduction-order tolerance, for plain training,
#   SDKD distillation and two teachers weighted by AEKD; local BatchNorm does differ (so the
#   comparison can fail);
# - rank 0 alone prints and writes;
# - a 2-rank run killed with SIGKILL after an epoch resumes to the uninterrupted run's losses,
#   and a 2-rank checkpoint resumes with 1 rank at the global batch;
# - the commands that run as one process refuse a launch of several, in one line.
# - SDKD_DISTRIBUTED=1 runs one process on the data-parallel path, equal to the plain run.
# Usage: distributed_cli.sh path/to/sdkd
set -u
SDKD=$(readlink -f "$1")
. "$(dirname "$0")/lib/expect.sh"
pgid=
trap '[ -n "$pgid" ] && kill -9 -- "-$pgid" 2>/dev/null; rm -rf "$work"' EXIT

# CI runs as root in a container: Open MPI needs to be told that is fine, and not to use
# cross-memory attach (ptrace may be forbidden there). ASan: Open MPI's own allocations at exit
# are not ours to fix.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_rmaps_base_oversubscribe=1
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
MPI=(mpirun --allow-run-as-root --oversubscribe -np 2)

# close A B TOL [EPOCHS]: two history.json files have the same epochs, and the train_loss and
# val_mse of the first EPOCHS of them (default: all) agree within a relative TOL (0: exactly).
# Why only the first epochs: float32 runs that differ in rounding alone (here, how the batch is
# split) drift apart as training goes on (Adam amplifies the differences of near-zero gradients):
# measured on the smoke preset, 2 ranks x 2 against 1 x 4 agree to 4e-9 and 2e-6 after one and
# two epochs, then 6e-3 after three. tests/distributed/test_distributed.cpp checks one step's
# gradients of the same split to 1e-4.
close() {
  python3 - "$1" "$2" "$3" "${4:-0}" <<'PY'
import json, sys
a, b, tol, first = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), float(sys.argv[3]), int(sys.argv[4])
assert len(a) == len(b) and a, f"{len(a)} vs {len(b)} epochs"
worst = 0.0
for x, y in list(zip(a, b))[: first or len(a)]:
    for k in ("train_loss", "val_mse"):
        d = abs(x[k] - y[k]) / max(abs(x[k]), 1e-30)
        worst = max(worst, d)
        assert d <= tol, f"epoch {x['epoch']} {k}: {x[k]!r} vs {y[k]!r} (relative {d:.3g} > {tol})"
print(f"  agree: worst relative difference {worst:.3g} (tolerance {tol}, {first or len(a)} of {len(a)} epochs)")
PY
}

enter_temp_dir
# SDKD_DISTRIBUTED=1: one process on the data-parallel path without a launcher (any build).
"$SDKD" generate ns --preset smoke --out data.npy > /dev/null 2>&1 || fail "generate data.npy"
"$SDKD" train --preset smoke --data data.npy --epochs 2 --batch 4 --out plain > plain.log 2>&1 || fail "plain train"
SDKD_DISTRIBUTED=1 "$SDKD" train --preset smoke --data data.npy --epochs 2 --batch 4 --out forced > forced.log 2>&1 ||
  fail "SDKD_DISTRIBUTED=1 train: $(tail -1 forced.log)"
grep -q 'data parallel: 1 ranks' forced.log || fail "SDKD_DISTRIBUTED=1 did not take the data-parallel path"
close plain/history.json forced/history.json 1e-12 || fail "SDKD_DISTRIBUTED=1 differs from the plain run"
skip() { [ "$fails" -eq 0 ] || finish; echo "SKIPPED: $* (the one-process check above passed)"; exit 0; }
"$SDKD" info 2>/dev/null | grep -q '^distributed: MPI' || skip "this build has no MPI"
command -v mpirun >/dev/null 2>&1 || skip "no mpirun on PATH (Debian: openmpi-bin)"

echo "== generate: 2 ranks write the 1-rank file =="
"$SDKD" generate ns --preset smoke --trajectories 12 --out one.npy > gen1.log 2>&1 || fail "1-rank generate: $(tail -1 gen1.log)"
"${MPI[@]}" "$SDKD" generate ns --preset smoke --trajectories 12 --out two.npy > gen2.log 2>&1 || fail "2-rank generate: $(tail -3 gen2.log)"
"${MPI[@]}" "$SDKD" generate ns --preset smoke --trajectories 12 --batch 3 --out three.npy > gen3.log 2>&1 || fail "2-rank generate --batch 3"
cmp one.npy two.npy && cmp one.npy three.npy && echo "ok: byte-identical" || fail "the 2-rank files differ from the 1-rank one"
[ -f two.npy.json ] || fail "no side file beside the 2-rank output"
[ "$(grep -c 'wrote two.npy' gen2.log)" -eq 1 ] || fail "expected exactly one 'wrote' line (rank 0): $(cat gen2.log)"

T=(train --preset smoke --data data.npy --epochs 2)

echo "== train: 2 ranks x batch 2, sync BatchNorm = 1 rank x batch 4 =="
"$SDKD" "${T[@]}" --batch 4 --out t1 > t1.log 2>&1 || fail "1-rank train: $(tail -1 t1.log)"
"${MPI[@]}" "$SDKD" "${T[@]}" --batch 2 --sync-bn --bucket-kb 8 --out t2 > t2.log 2>&1 || fail "2-rank train: $(tail -3 t2.log)"
close t1/history.json t2/history.json 1e-4 || fail "2-rank training does not match 1-rank training"
# mpirun -np 1 takes the data-parallel path (broadcast, reducer, sharded validation) with one rank.
"${MPI[@]:0:3}" -np 1 "$SDKD" "${T[@]}" --batch 4 --out t1mpi > t1mpi.log 2>&1 || fail "1-rank mpirun train: $(tail -3 t1mpi.log)"
grep -q 'data parallel: 1 ranks' t1mpi.log || fail "mpirun -np 1 did not take the data-parallel path"
close t1/history.json t1mpi/history.json 1e-12 || fail "mpirun -np 1 differs from the plain run"
grep -q 'synchronised BatchNorm' t2.log || fail "the run did not say it synchronises BatchNorm"
[ "$(grep -c 'epoch 1/2' t2.log)" -eq 1 ] || fail "more than one rank printed epoch lines: $(grep 'epoch 1/2' t2.log)"
"${MPI[@]}" "$SDKD" "${T[@]}" --batch 2 --out t2local > t2local.log 2>&1 || fail "2-rank local-BN train"
if close t1/history.json t2local/history.json 1e-4 > /dev/null 2>&1; then
  fail "local BatchNorm (2 batches of 2) gave the losses of one batch of 4: the comparison above cannot tell"
else
  echo "ok: local BatchNorm differs from the global batch, as it must"
fi

echo "== distill: SDKD and AEKD over two teachers, 2 ranks = 1 rank =="
"$SDKD" train --preset smoke --data data.npy --model simvp --epochs 1 --out teacher > teacher.log 2>&1 || fail "teacher"
"$SDKD" train --preset smoke --data data.npy --model simvp --epochs 1 --seed 5 --out teacher2 > teacher2.log 2>&1 || fail "teacher 2"
D=(distill --preset smoke --data data.npy --epochs 2 --teacher teacher/best.safetensors)
"$SDKD" "${D[@]}" --batch 4 --out d1 > d1.log 2>&1 || fail "1-rank distill: $(tail -1 d1.log)"
"${MPI[@]}" "$SDKD" "${D[@]}" --batch 2 --sync-bn --out d2 > d2.log 2>&1 || fail "2-rank distill: $(tail -3 d2.log)"
close d1/history.json d2/history.json 1e-4 || fail "2-rank SDKD does not match 1-rank SDKD"
A=("${D[@]}" --teacher teacher2/best.safetensors --weighting aekd)
"$SDKD" "${A[@]}" --batch 4 --out a1 > a1.log 2>&1 || fail "1-rank AEKD: $(tail -1 a1.log)"
"${MPI[@]}" "$SDKD" "${A[@]}" --batch 2 --sync-bn --out a2 > a2.log 2>&1 || fail "2-rank AEKD: $(tail -3 a2.log)"
close a1/history.json a2/history.json 1e-4 || fail "2-rank AEKD does not match 1-rank AEKD"

echo "== a killed 2-rank run resumes; its checkpoint resumes with 1 rank too =="
K=(train --preset smoke --data data.npy --epochs 6)
"${MPI[@]}" "$SDKD" "${K[@]}" --batch 2 --sync-bn --out full2 > full2.log 2>&1 || fail "uninterrupted 2-rank run"
"$SDKD" "${K[@]}" --batch 4 --out full1 > full1.log 2>&1 || fail "uninterrupted 1-rank run"
setsid "${MPI[@]}" "$SDKD" "${K[@]}" --batch 2 --sync-bn --out killed > killed.log 2>&1 &
pgid=$!
n=0
until [ -f killed/last.safetensors ] || ! kill -0 "$pgid" 2>/dev/null || [ $n -gt 3000 ]; do sleep 0.01; n=$((n + 1)); done
kill -9 -- "-$pgid" 2>/dev/null
wait "$pgid" 2>/dev/null
pgid=
[ -f killed/last.safetensors ] || fail "no checkpoint before the kill: $(tail -2 killed.log)"
[ -f killed/history.json ] && fail "the run finished before it could be killed (make it longer)"
cp -r killed killed1
"${MPI[@]}" "$SDKD" "${K[@]}" --batch 2 --sync-bn --out killed --resume > resumed.log 2>&1 || fail "2-rank resume: $(tail -3 resumed.log)"
grep -q 'resuming' resumed.log || fail "the resumed run did not say it resumes"
close full2/history.json killed/history.json 0 || fail "the resumed 2-rank run differs from the uninterrupted one"
"$SDKD" "${K[@]}" --batch 4 --out killed1 --resume > resumed1.log 2>&1 || fail "1-rank resume of a 2-rank run: $(tail -1 resumed1.log)"
# The uninterrupted runs agree over the first two epochs (see close); a 2-rank checkpoint
# resumed by 1 rank continues the same run: its epochs after the checkpoint track the 1-rank run
# as closely.
close full1/history.json full2/history.json 1e-4 2 || fail "2 ranks stray from 1 rank in the first epochs"
close full1/history.json killed1/history.json 1e-4 2 || fail "the 2-rank checkpoint resumed with 1 rank strays from the 1-rank run"
grep -q 'resuming' resumed1.log || fail "the 1-rank resume did not say it resumes"

echo "== one-process commands refuse a launch of several =="
for cmd in demo eval study report; do
  out=$("${MPI[@]}" "$SDKD" $cmd 2>&1 >/dev/null); rc=$?
  [ $rc -ne 0 ] || fail "mpirun -np 2 sdkd $cmd exited 0"
  printf '%s\n' "$out" | grep -q "sdkd $cmd runs as one process" && echo "ok: $cmd refused" || fail "sdkd $cmd under mpirun said: $out"
done
out=$("${MPI[@]}" "$SDKD" "${T[@]}" --batch 2 --cuda-graph --out cg 2>&1 >/dev/null)
printf '%s\n' "$out" | grep -q 'cuda' && echo "ok: --cuda-graph refused" || fail "--cuda-graph under mpirun said: $out"
finish
