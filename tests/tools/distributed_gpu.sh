#!/usr/bin/env bash
# The NCCL path on a GPU (docs/DISTRIBUTED.md): a 1-rank data-parallel run of the smoke preset on
# the GPU (SDKD_DISTRIBUTED=1: a one-rank NCCL communicator, no MPI needed; and under mpirun -np 1
# where mpirun exists) matches the plain GPU run, and the all-reduce benchmark on the GPU checks
# its sums and reports its bandwidth. SKIPPED without a GPU or without NCCL in the build.
# Usage: distributed_gpu.sh path/to/sdkd
set -u
SDKD=$(readlink -f "$1")
BENCH=$(dirname "$SDKD")/bench/allreduce_bench/sdkd-allreduce-bench
. "$(dirname "$0")/lib/expect.sh"
"$SDKD" info 2>/dev/null | grep -q '^distributed: .*NCCL [0-9]' || { echo "SKIPPED: this build has no NCCL"; exit 0; }
"$SDKD" info --devices 2>/dev/null | grep -q '^cuda:0' || { echo "SKIPPED: no CUDA device"; exit 0; }
enter_temp_dir
"$SDKD" generate ns --preset smoke --out data.npy > /dev/null 2>&1 || fail "generate"
T=(train --preset smoke --data data.npy --epochs 2 --batch 4 --device cuda --deterministic)
"$SDKD" "${T[@]}" --out plain > plain.log 2>&1 || fail "plain GPU run: $(tail -1 plain.log)"
SDKD_DISTRIBUTED=1 "$SDKD" "${T[@]}" --out nccl > nccl.log 2>&1 || fail "1-rank NCCL run: $(tail -2 nccl.log)"
grep -q 'data parallel: 1 ranks (single+nccl)' nccl.log || fail "the 1-rank run did not use NCCL: $(grep 'data parallel' nccl.log)"
python3 - plain/history.json nccl/history.json <<'PY' || fail "the 1-rank NCCL run differs from the plain GPU run"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert len(a) == len(b)
for x, y in zip(a, b):
    for k in ("train_loss", "val_mse"):
        d = abs(x[k] - y[k]) / abs(x[k])
        assert d <= 1e-6, f"epoch {x['epoch']} {k}: {x[k]} vs {y[k]}"
print("ok: the 1-rank NCCL run matches the plain GPU run")
PY
if command -v mpirun >/dev/null 2>&1; then
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun --allow-run-as-root -np 1 "$SDKD" "${T[@]}" --out mpi1 > mpi1.log 2>&1 ||
    fail "mpirun -np 1 GPU run: $(tail -2 mpi1.log)"
fi
if [ -x "$BENCH" ]; then
  SDKD_DISTRIBUTED=1 "$BENCH" --device cuda --max-bytes 268435456 > bench.txt 2>&1 || fail "all-reduce benchmark on the GPU: $(tail -3 bench.txt)"
  cat bench.txt
fi
finish
