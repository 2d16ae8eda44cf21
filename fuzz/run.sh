#!/usr/bin/env bash
# Runs every libFuzzer target of a fuzz build for SECONDS each, starting from its seed corpus
# (the valid files the tests already use, see seeds() below, copied so the tree is not modified), and fails on the first target
# that finds a crash, a leak, a sanitizer report, a timeout (> 10 s on one input) or a memory
# blow-up (> 2 GiB). Findings are kept in $FUZZ_ARTIFACTS (default: a temp folder) as
# crash-*/timeout-*/oom-* files to reproduce with `build-fuzz/fuzz/sdkd-fuzz-<t> FILE`.
# The mutation seed is FUZZ_SEED (default 1, so a CI run can be repeated; set 0 for a random one).
# Usage: fuzz/run.sh BUILD_DIR [SECONDS=60] [TARGET...]
set -u
build=${1:?usage: fuzz/run.sh BUILD_DIR [SECONDS] [TARGET...]}
seconds=${2:-60}
shift $(( $# < 2 ? $# : 2 ))
here=$(cd "$(dirname "$0")" && pwd)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(npy safetensors mat5 hdf5 preset)
artifacts=${FUZZ_ARTIFACTS:-$(mktemp -d)}
export LSAN_OPTIONS="suppressions=$here/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
mkdir -p "$artifacts"
# Seed corpus per target: small valid files of the format, made by independent tools.
seeds() {
  local fx="$here/../tests/data/fixtures"
  case $1 in
    npy) ls "$fx"/npy_*.npy ;;
    mat5) ls "$fx"/mat5_*.mat ;;
    hdf5) ls "$fx"/h5_*.mat "$fx"/h5_*.h5 ;;
    safetensors) ls "$here"/corpus/safetensors/* ;;
    preset) ls "$here"/../configs/*.json ;;
  esac 2>/dev/null
}
status=0
for t in "${targets[@]}"; do
  bin="$build/fuzz/sdkd-fuzz-$t"
  [ -x "$bin" ] || { echo "fuzz: $bin not built"; status=1; continue; }
  corpus=$(mktemp -d)
  for f in $(seeds "$t"); do cp "$f" "$corpus/"; done
  echo "== fuzz $t: $(ls "$corpus" | wc -l) seeds, ${seconds}s =="
  if "$bin" "$corpus" -max_total_time="$seconds" -seed="${FUZZ_SEED:-1}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$artifacts/$t-" > "$artifacts/$t.log" 2>&1; then
    grep -E "stat::number_of_executed_units|cov:" "$artifacts/$t.log" | tail -2
  else
    echo "fuzz $t: FOUND A PROBLEM (log and input in $artifacts):"
    grep -E "ERROR|SUMMARY|Test unit written|==[0-9]+==" "$artifacts/$t.log" | head -20
    status=1
  fi
  rm -rf "$corpus"
done
exit $status
