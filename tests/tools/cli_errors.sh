#!/usr/bin/env bash
# Bad input to the sdkd binary gets exactly one clear error line naming what was expected,
# exit status 2, and no half-written output. Usage: cli_errors.sh path/to/sdkd
set -u
SDKD=$1
. "$(dirname "$0")/lib/expect.sh"  # fail, expect_error, expect_error_last, finish
enter_temp_dir

# A valid tiny dataset to corrupt.
"$SDKD" generate ns --preset smoke --trajectories 3 --out good.npy --threads 1 2>/dev/null || { echo "FAIL: generate"; exit 1; }
test -s good.npy && test -s good.npy.json || { echo "FAIL: generate wrote nothing"; exit 1; }
size=$(stat -c %s good.npy)
head -c $((size - 100)) good.npy > truncated.npy
# Same header with the dtype changed to a unicode string (every numeric dtype is read now).
sed '1s/<f4/<U1/' good.npy > wrong_dtype.npy
# 4x4 frames: a U-Net needs sizes divisible by 4, this one is fine; 6x6 is not.
"$SDKD" generate ns --preset smoke --trajectories 3 --resolution 6 --solve-resolution 6 --out six.npy --threads 1 2>/dev/null

expect_error "truncated" "$SDKD" train --data truncated.npy --preset smoke --out run1
expect_error "unsupported dtype '<U1'" "$SDKD" train --data wrong_dtype.npy --preset smoke --out run1
expect_error "missing.npy: data file not found" "$SDKD" train --data missing.npy --preset smoke --out run1
expect_error "--data FILE is required" "$SDKD" train --preset smoke
expect_error "no-such-option" "$SDKD" train --data good.npy --no-such-option 3
expect_error "unknown preset 'huge'" "$SDKD" demo --preset huge
expect_error "unknown Navier-Stokes preset \"galactic\"" "$SDKD" generate ns --preset galactic
expect_error "expected a generator name" "$SDKD" generate turbulence
expect_error "unknown command 'trian'" "$SDKD" trian
expect_error "divisible by 4" "$SDKD" train --data six.npy --preset smoke --out run2
expect_error "unknown model 'vit'" "$SDKD" train --data good.npy --preset smoke --model vit --out run3
expect_error "expected a path ending in .npy" "$SDKD" generate ns --preset smoke --out data.bin
# The host cache's environment is read before any work, whether or not a run would reach it.
SDKD_HOST_CACHE_HEADROOM=lots expect_error "SDKD_HOST_CACHE_HEADROOM: expected a fraction in [0, 4], got 'lots'" "$SDKD" generate ns --preset smoke --out h.npy
SDKD_HOST_CACHE_MB=-3 expect_error "SDKD_HOST_CACHE_MB: expected a whole number of MiB >= 0" "$SDKD" generate ns --preset smoke --out h.npy
SDKD_PARALLEL_REGION_US=soon expect_error "SDKD_PARALLEL_REGION_US: expected the cost of an OpenMP parallel region in microseconds (a number >= 0), got 'soon'" "$SDKD" generate ns --preset smoke --out h.npy
[ -e h.npy ] && { echo "FAIL: a refused run wrote h.npy"; fails=$((fails+1)); }
expect_error "checkpoint not found" "$SDKD" eval --data good.npy --checkpoint nope.safetensors --preset smoke
expect_error "--threads must be >= 1" "$SDKD" train --data good.npy --preset smoke --threads 0 --out run1

# A checkpoint for 32x32 frames evaluated on 6x6 frames: a shape error naming both.
"$SDKD" train --data good.npy --preset smoke --out run4 --epochs 1 --threads 1 >/dev/null 2>&1 || { echo "FAIL: train"; fails=$((fails+1)); }
expect_error "expected input (B, 10, 1, 32, 32), got [" "$SDKD" eval --data six.npy --checkpoint run4/best.safetensors --preset smoke

expect_error "needs at least one --teacher" "$SDKD" distill --data good.npy --preset smoke --kd sdkd --out run5
expect_error "kd method 'magic' is unknown" "$SDKD" distill --data good.npy --preset smoke --kd magic --teacher run4/best.safetensors --out run5
expect_error "device 'gpu': expected cpu, cuda or cuda:N" "$SDKD" train --data good.npy --preset smoke --device gpu --out run1
# cuda:7 exists nowhere we run: without CUDA the reason is the build or the driver, with one GPU the index.
expect_error "--device cuda:7" "$SDKD" train --data good.npy --preset smoke --device cuda:7 --out run1
expect_error "--gemm: gemm backend 'fast'" "$SDKD" train --data good.npy --preset smoke --gemm fast --out run1
expect_error "--cutoffs 'low'" "$SDKD" distill --data good.npy --preset smoke --cutoffs low --teacher run4/best.safetensors --out run5

# Nothing half-written: no temp files anywhere.
if find . -name '*.tmp*' | grep -q .; then echo "FAIL: temp files left:"; find . -name '*.tmp*'; fails=$((fails+1)); fi
[ -e run1 ] && [ -n "$(ls run1 2>/dev/null)" ] && { echo "FAIL: a failed run wrote files into run1"; fails=$((fails+1)); }

finish
