#!/usr/bin/env bash
# The project's whole test suite, as the README gives it and CI runs it
# (.ci/run): install the package with its test extras (builds the native
# extension), build and run the C++ tests with CTest (plain, then under
# ASan+UBSan, the thread pool under TSan), fuzz the loader and decoder for a bounded time, run the
# aarch64 lane under qemu, then the Python tests.  Environment switches for
# quick local runs: LITEPOSE_SKIP_FUZZ=1, LITEPOSE_SKIP_AARCH64=1,
# LITEPOSE_FUZZ_SECONDS=N.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# step headers carry the seconds since the start, so a slow CI run shows
# which step grew
step() { echo "== $1 [${SECONDS}s]"; }

step "install (pip install '.[test]')"
"$PY" -m pip install --quiet --disable-pip-version-check ".[test]"

step "C++ tests (CTest, x86-64)"
GEN=()
command -v ninja >/dev/null 2>&1 && GEN=(-G Ninja)
cmake -S . -B build/ctest "${GEN[@]}" -DCMAKE_BUILD_TYPE=Release -DLITEPOSE_BUILD_PYTHON=OFF >/dev/null
cmake --build build/ctest --parallel 2
ctest --test-dir build/ctest --output-on-failure
if [ -r /proc/cpuinfo ] && grep -q '^flags' /proc/cpuinfo && ! grep -qw avx512f /proc/cpuinfo; then
  echo "NOTE: this CPU has no AVX-512F: the avx512f kernels are built but not run here (CTest covered scalar and avx2)"
fi

step "C++ tests under AddressSanitizer + UBSan"
cmake -S . -B build/asan "${GEN[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLITEPOSE_BUILD_PYTHON=OFF -DLITEPOSE_SANITIZE=ON >/dev/null
cmake --build build/asan --parallel 2
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ctest --test-dir build/asan --output-on-failure

step "thread pool under ThreadSanitizer"
cmake -S . -B build/tsan "${GEN[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLITEPOSE_BUILD_PYTHON=OFF \
  -DCMAKE_CXX_FLAGS=-fsanitize=thread -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread >/dev/null
cmake --build build/tsan --parallel 2 --target test_threadpool
TSAN_OPTIONS=halt_on_error=1 build/tsan/test_threadpool

if [ "${LITEPOSE_SKIP_FUZZ:-0}" != 1 ]; then
  step "bounded fuzzing (libFuzzer, ASan, UBSan)"
  scripts/fuzz.sh "${LITEPOSE_FUZZ_SECONDS:-30}"
fi

if [ -x scripts/aarch64_lane.sh ] && [ "${LITEPOSE_SKIP_AARCH64:-0}" != 1 ]; then
  step "aarch64 lane (cross-built C++ tests under qemu)"
  scripts/aarch64_lane.sh
  step "aarch64 wheel (cross-built, installed into an emulated arm64 Python, parity checked)"
  scripts/aarch64_wheel.sh
fi

step "Python tests (pytest)"
# run from the tests folder's parent so the installed package (not src/) is imported
"$PY" -m pytest -q -p no:cacheprovider tests/python "$@"
echo "== all steps passed [${SECONDS}s]"
