#!/usr/bin/env bash
# The installed package as a user meets it (ctest "install: examples out of tree"):
#   1. cmake --install BUILD into a fresh prefix;
#   2. <sdkd/sdkd.hpp> compiles with plain `g++ -std=c++20` and only the prefix's include folder
#      (no CUDA include path, no other -I);
#   3. every example in examples/ configured out of tree with find_package(sdkd), built, run:
#      train_model, custom_op, distill (which writes a student checkpoint and 10 frames), then
#      forecast on those two files, its output checked for shape, and on the distilled student of
#      the installed `sdkd demo --preset smoke`;
#   4. example (a) built a second time through pkg-config alone (g++ $(pkg-config ...)) and run.
# Usage: check_install.sh SOURCE_DIR BUILD_DIR [EXTRA_FLAGS]; EXTRA_FLAGS (e.g. the sanitizers
# of an ASan build) go on every compile and link, as the package's libraries need them.
set -euo pipefail
src=$1 build=$2 flags=${3:-}
work=$(mktemp -d "${TMPDIR:-/tmp}/sdkd-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

echo "== install into $prefix"
cmake --install "$build" --prefix "$prefix" > "$work/install.log"
test -f "$prefix/lib/cmake/sdkd/sdkdConfig.cmake"
test -f "$prefix/lib/pkgconfig/sdkd.pc"
test -f "$prefix/include/sdkd/version.hpp"
test -f "$prefix/include/sdkd/distill/distiller.hpp"
# Internals stay out: kernels, runtime, the report layer, the tools.
for private in kernels runtime report tools; do
  if [ -e "$prefix/include/sdkd/$private" ] || [ -e "$prefix/include/$private" ]; then
    echo "FAIL: $private/ headers were installed"; exit 1
  fi
done

# One version everywhere: the header, the binary, the package (pkg-config below).
version=$(sed -n 's/^#define SDKD_VERSION "\(.*\)"/\1/p' "$prefix/include/sdkd/version.hpp")
test -n "$version"
grep -q "PACKAGE_VERSION \"$version\"" "$prefix/lib/cmake/sdkd/sdkdConfigVersion.cmake"
# (Outputs are captured before matching: with pipefail, `cmd | grep -q` can fail on a match when
# grep exits first and cmd is killed by SIGPIPE.)
reported=$("$prefix/bin/sdkd" --version)
[[ $reported == "sdkd $version "* ]] || { echo "FAIL: sdkd --version says '$reported', not $version"; exit 1; }

echo "== <sdkd/sdkd.hpp> with g++ -std=c++20 and only $prefix/include"
printf '#include <sdkd/sdkd.hpp>\nint main() { return sdkd::Tensor::zeros({2}).numel() == 2 ? 0 : 1; }\n' > "$work/plain.cpp"
g++ -std=c++20 -fsyntax-only -I"$prefix/include" "$work/plain.cpp"
# The tensor's fields are the engine's: opaque to an embedder.
printf '#include <sdkd/sdkd.hpp>\nint main() { return int(sizeof(sdkd::TensorImpl)); }\n' > "$work/opaque.cpp"
if g++ -std=c++20 -fsyntax-only -I"$prefix/include" "$work/opaque.cpp" 2> /dev/null; then
  echo "FAIL: sdkd::TensorImpl is a complete type in the installed headers"; exit 1
fi
g++ -std=c++20 -E -I"$prefix/include" "$work/plain.cpp" > "$work/plain.i"
if grep -q "cuda_runtime" "$work/plain.i"; then
  echo "FAIL: <sdkd/sdkd.hpp> pulls in CUDA headers"; exit 1
fi

cmake_flags=(-G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix")
if [ -n "$flags" ]; then cmake_flags+=(-DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags"); fi
for ex in train_model custom_op distill forecast; do
  echo "== example $ex: configure and build out of tree"
  cmake -S "$src/examples/$ex" -B "$work/build-$ex" "${cmake_flags[@]}" > "$work/cfg-$ex.log" || { cat "$work/cfg-$ex.log"; exit 1; }
  cmake --build "$work/build-$ex" > "$work/build-$ex.log" || { cat "$work/build-$ex.log"; exit 1; }
done
export OMP_WAIT_POLICY=passive
echo "== run train_model";  "$work/build-train_model/sdkd_example_train_model" "$work/a"
echo "== run custom_op";    "$work/build-custom_op/sdkd_example_custom_op"
echo "== run distill";      "$work/build-distill/sdkd_example_distill" "$work/d"
echo "== run forecast";     "$work/build-forecast/sdkd_example_forecast" "$work/d/student.safetensors" "$work/d/frames.npy" "$work/forecast.npy"
# The forecast file: a version-1 .npy header naming float32 and the (10, 1, 32, 32) shape.
header=$(head -c 128 "$work/forecast.npy" | tr -d '\000')
[[ $header == *"'descr': '<f4'"*"'shape': (10, 1, 32, 32)"* ]] || {
  echo "FAIL: forecast.npy is not a (10, 1, 32, 32) float32 array: $header"; exit 1; }

# And a checkpoint of the installed sdkd itself: the smoke study's distilled student (the same
# 10 frames of 32x32). Skipped under the sanitizers, where the smoke study takes minutes.
if [ -z "$flags" ]; then
  echo "== forecast from sdkd distill's checkpoint (sdkd demo --preset smoke)"
  (cd "$work" && timeout 300 "$prefix/bin/sdkd" demo --preset smoke --out "$work/smoke" --quiet > "$work/smoke.log" 2>&1) ||
    { cat "$work/smoke.log"; exit 1; }
  "$work/build-forecast/sdkd_example_forecast" "$work/smoke/student_sdkd_s0/best.safetensors" "$work/d/frames.npy" \
    "$work/forecast_smoke.npy"
fi

echo "== example train_model through pkg-config"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
test "$(pkg-config --modversion sdkd)" = "$version"
# shellcheck disable=SC2046,SC2086
g++ -std=c++20 -O2 $flags "$src/examples/train_model/main.cpp" -o "$work/train_model_pc" $(pkg-config --cflags --libs sdkd)
"$work/train_model_pc" "$work/a_pc"
echo "install: ok"
