#!/usr/bin/env bash
# The PyTorch cross-check (bench/reference/crosscheck.py) as a test: our outputs, losses and
# gradients of every model and KD loss against an independent PyTorch implementation.
# Usage: crosscheck.sh path/to/sdkd (the dump program sits beside it). Skipped, never installed,
# where no python3 has torch (CI machines); `make crosscheck` installs it.
set -u
bin_dir=$(dirname "$1")
root=$(cd "$(dirname "$0")/../.." && pwd)
dump="$bin_dir/sdkd-crosscheck-dump"
py=$("$root/bench/reference/python.sh" 2>/dev/null) || { echo "SKIPPED: python3-torch not installed"; exit 0; }
if [ ! -x "$dump" ]; then
  echo "SKIPPED: $dump not built (bench/CMakeLists.txt needs add_subdirectory(reference))"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$dump" --out "$work" || { echo "FAIL: sdkd-crosscheck-dump"; exit 1; }
"$py" "$root/bench/reference/crosscheck.py" "$work"
