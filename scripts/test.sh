#!/usr/bin/env bash
# The project's whole test suite, as the README gives it and CI runs it
# (.ci/run): install the package with its test extras (builds the native
# extension), build and run the C++ tests with CTest, run the aarch64 lane
# under qemu when scripts/aarch64_lane.sh exists, then the Python tests.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

echo "== install (pip install '.[test]')"
"$PY" -m pip install --quiet --disable-pip-version-check ".[test]"

echo "== C++ tests (CTest, x86-64)"
GEN=()
command -v ninja >/dev/null 2>&1 && GEN=(-G Ninja)
cmake -S . -B build/ctest "${GEN[@]}" -DCMAKE_BUILD_TYPE=Release -DLITEPOSE_BUILD_PYTHON=OFF >/dev/null
cmake --build build/ctest --parallel 2
ctest --test-dir build/ctest --output-on-failure

if [ -x scripts/aarch64_lane.sh ] && [ "${LITEPOSE_SKIP_AARCH64:-0}" != 1 ]; then
  echo "== aarch64 lane (cross-built C++ tests under qemu)"
  scripts/aarch64_lane.sh
fi

echo "== Python tests (pytest)"
# run from the tests folder's parent so the installed package (not src/) is imported
exec "$PY" -m pytest -q -p no:cacheprovider tests/python "$@"
