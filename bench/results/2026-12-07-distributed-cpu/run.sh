#!/usr/bin/env bash
# CPU scaling at 1 and 2 ranks on this 2-vCPU machine (docs/DISTRIBUTED.md, "Measured here").
# Usage: run.sh BUILD_DIR OUT_DIR. Every configuration uses both cores: 1 rank x 2 threads
# against 2 ranks x 1 thread, with 1 rank x 1 thread as the baseline; the same global batch.
set -euo pipefail
B=$(readlink -f "$1"); OUT=$(readlink -f "$2"); S=$B/sdkd
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
MPI=(mpirun --allow-run-as-root --oversubscribe -np 2)
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT; cd "$W"
{ date -u; lscpu | grep -E 'Model name|^CPU\(s\)'; "$S" --version; "$S" info | grep -E 'GEMM|distributed'; } > "$OUT/machine.txt"
gen() { local name=$1; shift; /usr/bin/time -f "%e" -o "$OUT/gen_$name.time" "$@" > "$OUT/gen_$name.log" 2>&1; }
G=(generate ns --preset demo --trajectories 40)
gen 1r1t "$S" "${G[@]}" --threads 1 --out g_1r1t.npy
gen 1r2t "$S" "${G[@]}" --threads 2 --out g_1r2t.npy
gen 2r1t "${MPI[@]}" "$S" "${G[@]}" --out g_2r1t.npy
cmp g_1r1t.npy g_2r1t.npy && echo "2-rank file = 1-rank file" > "$OUT/gen_identical.txt"
"${MPI[@]}" "$S" generate ns --preset demo --trajectories 160 --out data.npy > "$OUT/gen_data.log" 2>&1
tr() { local name=$1; shift; "$@" --log-json "$OUT/$name.jsonl" --out "r_$name" > "$OUT/$name.log" 2>&1; }
U=(train --preset demo --data data.npy --epochs 4)
tr unet_1r1t "$S" "${U[@]}" --batch 20 --threads 1
tr unet_1r2t "$S" "${U[@]}" --batch 20 --threads 2
tr unet_2r1t_local "${MPI[@]}" "$S" "${U[@]}" --batch 10
tr unet_2r1t_sync "${MPI[@]}" "$S" "${U[@]}" --batch 10 --sync-bn
V=(train --preset demo --data data.npy --epochs 3 --model simvp)
tr simvp_1r1t "$S" "${V[@]}" --batch 10 --threads 1
tr simvp_1r2t "$S" "${V[@]}" --batch 10 --threads 2
tr simvp_2r1t_local "${MPI[@]}" "$S" "${V[@]}" --batch 5
tr simvp_2r1t_sync "${MPI[@]}" "$S" "${V[@]}" --batch 5 --sync-bn
tr simvp_2r1t_sync_b256k "${MPI[@]}" "$S" "${V[@]}" --batch 5 --sync-bn --bucket-kb 256
"${MPI[@]}" "$B/bench/allreduce_bench/sdkd-allreduce-bench" --max-bytes 67108864 > "$OUT/allreduce_2ranks.txt" 2>&1
python3 - "$OUT" <<'PY' > "$OUT/summary.md"
import json, sys, glob, os
out = sys.argv[1]
print("| run | seconds per epoch (after the first) | vs 1 rank x 1 thread |")
print("|---|---|---|")
base = {}
for f in sorted(glob.glob(f"{out}/*.jsonl")):
    name = os.path.basename(f)[:-6]
    rows = [json.loads(l) for l in open(f)]
    s = [r["seconds"] for r in rows[1:]]
    m = sum(s) / len(s)
    model = name.split("_")[0]
    if name.endswith("1r1t"): base[model] = m
for f in sorted(glob.glob(f"{out}/*.jsonl")):
    name = os.path.basename(f)[:-6]
    rows = [json.loads(l) for l in open(f)]
    s = [r["seconds"] for r in rows[1:]]
    m = sum(s) / len(s)
    print(f"| {name} | {m:.3f} | {base[name.split('_')[0]] / m:.2f}x |")
for n in ("1r1t", "1r2t", "2r1t"):
    print(f"| generate 40 demo trajectories, {n} | {open(f'{out}/gen_{n}.time').read().strip()} s (wall) | |")
PY
