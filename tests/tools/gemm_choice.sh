#!/usr/bin/env bash
# Issue 13 item 1: the CPU GEMM is OpenBLAS unless OpenBLAS runs generic kernels below what our
# blocked kernel runs here; `sdkd info` says which and why and which micro-kernel variant our
# kernel runs; SDKD_CPU_GEMM and SDKD_CPU_GEMM_ISA override the rules, and both GEMMs (and our
# kernel's generic variant) train to the same numbers within float rounding. OPENBLAS_CORETYPE is set
# here only to imitate a CPU that OpenBLAS does not know. Usage: gemm_choice.sh path/to/sdkd
set -u
SDKD=$1
. "$(dirname "$0")/lib/expect.sh"  # fail, expect_error, finish
enter_temp_dir

gemm_line() { env "$@" "$SDKD" info --size 32 2>&1 | grep '^CPU GEMM: '; }
line=$(gemm_line)
[ -n "$line" ] && echo "ok: $line" || fail "sdkd info does not say which CPU GEMM runs"
# The expectation from the CPU itself: our kernel picks its AVX2 or AVX-512 micro-kernel where
# the CPU has them, so with AVX2 it beats OpenBLAS's SSE3 Prescott kernels and is chosen;
# without AVX2 it is not.
if grep -qw avx2 /proc/cpuinfo; then want="CPU GEMM: blocked: OpenBLAS runs its Prescott kernels (SSE) here"
else want="CPU GEMM: blas: OpenBLAS core Prescott (SSE"; fi
case "$(gemm_line OPENBLAS_CORETYPE=Prescott)" in "$want"*) echo "ok: generic OpenBLAS -> $want" ;;
  *) fail "OPENBLAS_CORETYPE=Prescott: $(gemm_line OPENBLAS_CORETYPE=Prescott), expected $want" ;; esac
if grep -qw avx2 /proc/cpuinfo; then
  case "$(gemm_line OPENBLAS_CORETYPE=Haswell)" in "CPU GEMM: blas: OpenBLAS core Haswell (AVX2"*) echo "ok: Haswell kernels kept" ;;
    *) fail "OPENBLAS_CORETYPE=Haswell: $(gemm_line OPENBLAS_CORETYPE=Haswell)" ;; esac
fi
case "$(gemm_line SDKD_CPU_GEMM=blocked)" in "CPU GEMM: blocked: SDKD_CPU_GEMM=blocked; blocked micro-kernel "*) echo "ok: override" ;;
  *) fail "SDKD_CPU_GEMM=blocked: $(gemm_line SDKD_CPU_GEMM=blocked)" ;; esac
SDKD_CPU_GEMM=fast expect_error "SDKD_CPU_GEMM='fast': expected auto, blas or blocked" "$SDKD" generate ns --preset smoke --out x.npy
# The micro-kernel: the widest the CPU runs, the generic one on request, a bad name refused.
if grep -qw avx512f /proc/cpuinfo; then want_isa="AVX-512"; elif grep -qw avx2 /proc/cpuinfo; then want_isa="AVX2"; else want_isa="generic"; fi
case "$(gemm_line)" in *"; blocked micro-kernel $want_isa (built: generic"*) echo "ok: micro-kernel $want_isa" ;;
  *) fail "expected the $want_isa micro-kernel: $(gemm_line)" ;; esac
case "$(gemm_line SDKD_CPU_GEMM_ISA=generic)" in *"; blocked micro-kernel generic (built: "*) echo "ok: SDKD_CPU_GEMM_ISA=generic" ;;
  *) fail "SDKD_CPU_GEMM_ISA=generic: $(gemm_line SDKD_CPU_GEMM_ISA=generic)" ;; esac
SDKD_CPU_GEMM_ISA=avx9 expect_error "SDKD_CPU_GEMM_ISA='avx9': expected auto, generic, avx2 or avx512" "$SDKD" generate ns --preset smoke --out x.npy

# Both GEMMs train the same model to the same validation MSE up to float rounding.
"$SDKD" generate ns --preset smoke --trajectories 6 --out d.npy --threads 1 2>/dev/null || { echo "FAIL: generate"; exit 1; }
for g in blas blocked generic; do
  case $g in generic) vars="SDKD_CPU_GEMM=blocked SDKD_CPU_GEMM_ISA=generic" ;; *) vars="SDKD_CPU_GEMM=$g" ;; esac
  env $vars "$SDKD" train --data d.npy --preset smoke --threads 2 --epochs 2 --out run_$g --quiet > $g.out || fail "train with $vars"
done
for other in blocked generic; do
python3 - run_blas/history.json run_$other/history.json <<'PY' || fail "blas and $other GEMM runs disagree"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
for ea, eb in zip(a, b):
    for k in ("train_loss", "val_mse"):
        rel = abs(ea[k] - eb[k]) / abs(ea[k])
        assert rel < 1e-3, (k, ea[k], eb[k])
print("ok: blas and", sys.argv[2].split("/")[0][4:], "runs agree to", max(abs(ea[k] - eb[k]) / abs(ea[k]) for ea, eb in zip(a, b) for k in ("train_loss", "val_mse")))
PY
done
finish
