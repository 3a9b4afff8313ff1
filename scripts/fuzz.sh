#!/usr/bin/env bash
# Bounded fuzzing of the native entry points that take untrusted bytes:
# the model-file loader and the decoder.  libFuzzer + ASan + UBSan (clang).
# Seeds: real model files (a random-weight XS model converted by the package)
# and real network outputs; crashes become files under build/fuzz/crashes
# and fail this script.  Usage: scripts/fuzz.sh [seconds per target, default 30]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-30}
PY=${PYTHON:-python3}
if ! command -v clang++ >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q clang libclang-rt-14-dev) >/dev/null
  else
    echo "fuzz.sh: clang++ not found (apt-get install clang libclang-rt-14-dev)" >&2
    exit 1
  fi
fi
B=build/fuzz
mkdir -p "$B/corpus/model" "$B/corpus/decode" "$B/crashes"
CXX=clang++
FLAGS=(-std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION -Icsrc/include -Icsrc)
CORE=$(ls csrc/ops/*.cpp csrc/model/*.cpp csrc/decode/*.cpp csrc/image/*.cpp csrc/kernels/*/*-scalar.cpp 2>/dev/null)

# seeds
"$PY" - "$B/corpus" <<'PY'
import sys, pathlib
from litepose.convert import random_model_bytes
d = pathlib.Path(sys.argv[1])
(d / "model" / "xs-coco.lpm").write_bytes(random_model_bytes("XS", "coco", seed=0))
# decoder seed: real network outputs (random-weight XS, 14 joints, 32x32 input)
# behind the 6 header bytes fuzz_decode.cpp reads (K=14, 32x32, no flip, 29 people)
import numpy as np
import litepose
net = litepose.Network(random_model_bytes("XS", "crowdpose", seed=0), num_threads=1)
o4, o2 = net.forward(np.random.default_rng(0).standard_normal((1, 3, 32, 32)).astype(np.float32))
(d / "decode").mkdir(exist_ok=True)
# scaled so that a few peaks, not every pixel, pass the 0.1 threshold
(d / "decode" / "xs-32.bin").write_bytes(bytes([13, 7, 7, 0, 28, 0]) + (o4 * 0.02).tobytes() + (o2 * 0.02).tobytes())
PY

status=0
for target in tests/fuzz/fuzz_*.cpp; do
  name=$(basename "$target" .cpp)
  echo "== $name (${SECONDS_PER_TARGET}s)"
  # shellcheck disable=SC2086
  $CXX "${FLAGS[@]}" -o "$B/$name" "$target" $CORE -lpthread
  corpus="$B/corpus/${name#fuzz_}"
  mkdir -p "$corpus"
  if ! "$B/$name" "$corpus" -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=4096 -max_len=4000000 \
        -artifact_prefix="$B/crashes/$name-" -print_final_stats=1 2>"$B/$name.log"; then
    echo "FUZZ FAILURE in $name; last lines:"; tail -40 "$B/$name.log"; status=1
  else
    grep -E "stat::number_of_executed_units|cov:" "$B/$name.log" | tail -2
  fi
done
exit $status
