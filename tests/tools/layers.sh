#!/usr/bin/env bash
# The layer check (.ci/check-layers): its self-test on a fake tree with known violations, then
# the real tree, where no file may include a header from a layer it must not depend on.
# Usage: layers.sh path/to/sdkd (the binary is not used: the check reads the sources).
set -u
if ! command -v python3 >/dev/null 2>&1; then echo "SKIPPED: no python3"; exit 0; fi
check="$(dirname "$0")/../../.ci/check-layers"
fails=0
python3 "$check" --self-test || { echo "FAIL: check-layers --self-test"; fails=$((fails+1)); }
python3 "$check" || { echo "FAIL: check-layers found include-layer violations (listed above)"; fails=$((fails+1)); }
[ $fails -eq 0 ] && echo "ok: layers" || exit 1
