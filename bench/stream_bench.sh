#!/usr/bin/env bash
# Training samples/s with the data file in RAM (--loader ram) against streamed from a file kept
# out of the page cache (--loader stream): docs/PERFORMANCE.md, "Streaming".
#
#   bench/stream_bench.sh [BUILD_DIR] [WORK_DIR]
#
# Makes a synthetic float32 (N, T, 1, 64, 64) .npy (the layout `sdkd generate ns` writes) once,
# then runs sdkd-stream-bench (bench/stream_bench/stream_bench.cpp) REPEATS times. Each run
# trains the demo's student (U-Net width 8, batch 10, windows 10 -> 10 frames) once per loader
# from the same weights, the two loaders' epochs interleaved (ram, stream, stream, ram, ...) so
# a drift of the machine's speed hits both; a loader's rate is its mean over epochs 2..EPOCHS.
# Before every streamed epoch (EVICT=batch: every batch) the file's pages are dropped, and
# mincore reports the resident fraction before and after the epoch.
#
# Environment: N (trajectories, 600), FRAMES (40), EPOCHS (5), REPEATS (3), THREADS (2),
# EVICT (epoch), BIG=1: also a file larger than MemTotal, streamed only, MAX_BATCHES (300)
# batches per epoch, compared with the RAM rate of the small file.
set -euo pipefail
BUILD=${1:-build}
WORK=${2:-/tmp/sdkd_stream_bench}
N=${N:-600} FRAMES=${FRAMES:-40} EPOCHS=${EPOCHS:-5} REPEATS=${REPEATS:-3} THREADS=${THREADS:-2}
EVICT=${EVICT:-epoch} BIG=${BIG:-0} MAX_BATCHES=${MAX_BATCHES:-300}
BENCH="$BUILD/sdkd-stream-bench"
[ -x "$BENCH" ] || { echo "stream_bench.sh: $BENCH not found (cmake --build $BUILD --target sdkd-stream-bench)" >&2; exit 2; }
mkdir -p "$WORK"
export OMP_WAIT_POLICY=passive

SMALL="$WORK/flow_${N}x${FRAMES}.npy"
echo "== $(date -u +%FT%TZ) $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), MemAvailable $(awk '/MemAvailable/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
for r in $(seq 1 "$REPEATS"); do
  "$BENCH" --data "$SMALL" --make "$N" --frames "$FRAMES" --epochs "$EPOCHS" --threads "$THREADS" \
    --evict "$EVICT" --modes ram,stream --json "$WORK/run${r}.json" | grep -E "^(data|ram|stream) "
done

if [ "$BIG" = 1 ]; then
  # Larger than all of RAM: the page cache cannot hold it, whatever the kernel does.
  total_kib=$(awk '/MemTotal/ {print $2}' /proc/meminfo)
  per_traj_kib=$((FRAMES * 64 * 64 * 4 / 1024))
  NBIG=$(( total_kib * 11 / 10 / per_traj_kib + 1 ))
  BIGFILE="$WORK/flow_big_${NBIG}x${FRAMES}.npy"
  echo "== big file: $NBIG trajectories ($(( NBIG * per_traj_kib / 1048576 )) GiB), streamed, $MAX_BATCHES batches per epoch"
  "$BENCH" --data "$BIGFILE" --make "$NBIG" --frames "$FRAMES" --epochs "$EPOCHS" --threads "$THREADS" \
    --evict "$EVICT" --modes stream --max-batches "$MAX_BATCHES" --json "$WORK/big_stream.json" | grep -E "^(data|ram|stream) "
fi

# Summary: per run the two rates and their ratio, then the median and spread over runs and
# whether every run trained on the same losses with both loaders.
/usr/bin/env python3 - "$WORK" "$REPEATS" "$BIG" <<'PY'
import json, os, statistics, sys
work, repeats, big = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
rates, ratios, epoch_ratios, digests, same, resident = {"ram": [], "stream": []}, [], [], set(), True, []
for r in range(1, repeats + 1):
    j = json.load(open(os.path.join(work, f"run{r}.json")))
    for mode in ("ram", "stream"):
        rates[mode].append(j["modes"][mode]["samples_per_s"])
    ratios.append(j["ratio"])
    epoch_ratios += j["epoch_ratios"]
    digests.add(j["loss_digest"])
    same = same and j["losses_identical"]
    resident += [(e["resident_before"], e["resident_after"]) for e in j["modes"]["stream"]["epochs"]]
    print(f"run {r}: ram {rates['ram'][-1]:7.2f}  stream {rates['stream'][-1]:7.2f} samples/s  stream/ram {ratios[-1]:.3f}")
for mode, v in rates.items():
    print(f"{mode:7s} samples/s: median {statistics.median(v):7.2f}  min {min(v):7.2f}  max {max(v):7.2f}")
print(f"stream / ram: median of runs {statistics.median(ratios):.3f} (runs {min(ratios):.3f}..{max(ratios):.3f}; "
      f"single epoch pairs {min(epoch_ratios):.3f}..{max(epoch_ratios):.3f}); must be >= 0.90")
print(f"file resident before a streamed epoch: max {max(b for b, _ in resident):.4f}; after: max {max(a for _, a in resident):.4f}")
print("losses identical with both loaders in every run, and across runs:", "yes" if same and len(digests) == 1 else "NO")
if big:
    j = json.load(open(os.path.join(work, "big_stream.json")))
    b = j["modes"]["stream"]["samples_per_s"]
    print(f"big file ({j['file_gib']:.1f} GiB) streamed: {b:.2f} samples/s = {b / statistics.median(rates['ram']):.3f} x the RAM median")
PY
