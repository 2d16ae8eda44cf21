#!/usr/bin/env bash
# The end-to-end step benchmark, ours vs PyTorch, in one table (`make bench-step` runs it).
#   bench/reference/run_step_bench.sh [--threads N] [--config configs/demo.json] [--device cpu|cuda]
#                                     [--compile] [--min-time S] [--cases "a b ..."] [--json FILE]
# Runs every case in a fresh process (clean peak-memory numbers, see step_bench.py's header) for:
# ours (sdkd-step-bench), PyTorch with oneDNN off (its native kernels, the like-for-like
# comparison with our kernels) and PyTorch with oneDNN on (its default, what users get); on
# CUDA: ours, PyTorch eager and, with --compile, torch.compile.
# Both sides get the same thread count and the same environment: OMP_NUM_THREADS,
# OPENBLAS_NUM_THREADS, MKL_NUM_THREADS = N; MALLOC_ARENA_MAX (default 2) and any other MALLOC_*
# variables you set are passed to both unchanged; OMP_WAIT_POLICY defaults to passive (a spinning
# OpenMP thread on a shared or loaded machine steals the core its partner needs: measured on a
# loaded 2-core machine, one NS step took 144 ms with active waiting vs 0.31 ms passive); set
# OMP_WAIT_POLICY=active on an idle, dedicated machine.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$root/$BUILD" ;; esac
threads=2 config="$root/configs/demo.json" device=cpu compile=0 min_time=2 cases="" json_out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads=$2; shift 2 ;;
    --config) config=$2; shift 2 ;;
    --device) device=$2; shift 2 ;;
    --compile) compile=1; shift ;;
    --min-time) min_time=$2; shift 2 ;;
    --cases) cases=$2; shift 2 ;;
    --json) json_out=$2; shift 2 ;;
    *) echo "run_step_bench.sh: unknown option '$1' (see the header of $0)" >&2; exit 2 ;;
  esac
done
ours="$BUILD/sdkd-step-bench"
[ -x "$ours" ] || { echo "run_step_bench.sh: $ours not found (cmake --build $BUILD --target sdkd-step-bench)" >&2; exit 1; }
py=$("$here/python.sh") || exit 1

export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads MKL_NUM_THREADS=$threads
export MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$ours" --config "$config" --print-setup > "$work/setup.json"
[ -n "$cases" ] || cases=$("$ours" --list | tr '\n' ' ')

runs=("sdkd")
if [ "$device" = cpu ]; then runs+=("torch-native" "torch-onednn"); else runs+=("torch-eager"); fi
[ "$compile" = 1 ] && runs+=("torch-compile")

common=(--threads "$threads" --device "$device" --min-time "$min_time" --json)
for c in $cases; do
  for r in "${runs[@]}"; do
    case "$r" in
      sdkd) cmd=("$ours" --config "$config" --case "$c" "${common[@]}") ;;
      torch-native) cmd=("$py" "$here/step_bench.py" --setup "$work/setup.json" --case "$c" --mkldnn off "${common[@]}") ;;
      torch-onednn | torch-eager) cmd=("$py" "$here/step_bench.py" --setup "$work/setup.json" --case "$c" --mkldnn on "${common[@]}") ;;
      torch-compile) cmd=("$py" "$here/step_bench.py" --setup "$work/setup.json" --case "$c" --compile "${common[@]}") ;;
    esac
    # Ours is timed only after it matched its float64 CPU twin (sdkd-step-bench --validate);
    # a mismatch becomes an error row instead of a time.
    if [ "$r" = sdkd ] && ! "$ours" --config "$config" --case "$c" --threads "$threads" --device "$device" --validate \
        >> "$work/validation.txt" 2>&1; then
      echo "{\"run\": \"sdkd\", \"impl\": \"sdkd\", \"case\": \"$c\", \"device\": \"$device\", \"error\": \"validation against the float64 CPU twin failed (not timed)\"}" >> "$work/results.jsonl"
      echo -n "x" >&2
      continue
    fi
    # A failing case still prints its JSON error line; keep going.
    "${cmd[@]}" 2>>"$work/stderr" | sed "s/^{/{\"run\": \"$r\", /" >> "$work/results.jsonl" || true
    echo -n "." >&2
  done
done
echo >&2
[ -n "$json_out" ] && cp "$work/results.jsonl" "$json_out"
load=$(cut -d' ' -f1-3 /proc/loadavg)
"$py" "$here/step_table.py" "$work/results.jsonl" --config "$config" --threads "$threads" --device "$device" \
  --env "OMP_WAIT_POLICY=$OMP_WAIT_POLICY MALLOC_ARENA_MAX=$MALLOC_ARENA_MAX $(env | grep '^MALLOC_' | grep -v ARENA_MAX | tr '\n' ' ')" \
  --load "$load"
echo "validation of our cases before timing (float32 on $device against float64 on the CPU):"
sed 's/^/  /' "$work/validation.txt"
if [ -s "$work/stderr" ]; then echo "stderr of the runs:"; sed 's/^/  /' "$work/stderr" | head -20; fi
