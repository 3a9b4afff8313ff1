#!/usr/bin/env bash
# Executed aarch64 instructions of ONE forward pass of the same LitePose
# network in litepose, ncnn and ONNX Runtime (their aarch64 PyPI wheels),
# counted in one run under qemu-aarch64 -cpu cortex-a76 with the insn_count
# TCG plugin.  A benchmark, not a CI gate.
#
#   benchmarks/arm_instructions/run_peers.sh [XS S M L]
#
# Steps (all cached under LITEPOSE_ARM_WORK, default /tmp/litepose-aarch64):
#  1. x86: export_peers.py (python: LITEPOSE_PEERS_PY, default
#     /tmp/venv-peers/bin/python with benchmarks/requirements-peers.txt) builds
#     the torch model with litepose's own random weights (random_state_dict,
#     seed 0 == forward.py's random_model_bytes) and exports ONNX (opset 17) and
#     ncnn (pnnx, fp32) plus forward.py's input and PyTorch's outputs.
#  2. aarch64 wheels ncnn==$NCNN_VERSION and onnxruntime==$ORT_VERSION
#     (cp311, manylinux aarch64, --no-deps: import needs only numpy, which is
#     site-numpy) unpacked into WORK/site-ncnn and WORK/site-onnxruntime.
#  3. for each model: forward.py (litepose), peers.py ncnn, peers.py ort and
#     (LITEPOSE_PEERS_CHECK=1, default) peers.py litepose -- the latter only for
#     litepose's output agreement -- each under
#        unshare -m  (fake ARM /proc/cpuinfo bind-mounted: ORT's cpuinfo
#                     segfaults on the host's x86 one, and ncnn crashes at exit)
#        setarch x86_64 -R  PYTHONHASHSEED=0  (determinism)
#        qemu-aarch64 -L SYSROOT -cpu cortex-a76 -plugin libinsn_count.so,out=...
#     All runs of all runtimes get the same wrapper.  Needs root (unshare/mount).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
WORK="${LITEPOSE_ARM_WORK:-/tmp/litepose-aarch64}"
CPU="${LITEPOSE_BENCH_CPU:-cortex-a76}"
SYSROOT="$WORK/sysroot"
PEERS_PY="${LITEPOSE_PEERS_PY:-/tmp/venv-peers/bin/python}"
PDIR="$WORK/peers"            # exported models (export_peers.py's workdir)
RES="$PDIR/results"           # plugin outputs, logs, per-run JSON
CHECK="${LITEPOSE_PEERS_CHECK:-1}"
NCNN_VERSION=1.0.20261020
ORT_VERSION=1.32.0
ARCHS=("$@")
((${#ARCHS[@]})) || ARCHS=(XS S M L)
[ -x "$SYSROOT/usr/bin/python3.11" ] && [ -d "$WORK/site-litepose/litepose" ] ||
  { echo "run scripts/aarch64_wheel.sh first (needs $WORK/sysroot and site-litepose)" >&2; exit 1; }
mkdir -p "$RES"

# ---- the plugin: run.sh builds it (one litepose XS run as a side effect) ----------
PLUGIN="$WORK/insn_count/libinsn_count.so"
if [ ! -f "$PLUGIN" ] || [ "$HERE/insn_count.c" -nt "$PLUGIN" ]; then
  "$HERE/run.sh" XS >/dev/null
fi

# ---- 1. exports (x86) --------------------------------------------------------------
(IFS=,; PYTHONDONTWRITEBYTECODE=1 "$PEERS_PY" "$HERE/export_peers.py" --workdir "$PDIR" --models "${ARCHS[*]}") 2>"$PDIR/export.log" |
  sed 's/^/export: /' || { cat "$PDIR/export.log" >&2; exit 1; }

# ---- 2. aarch64 wheels -------------------------------------------------------------
site() {  # site DIST VERSION: WORK/site-DIST holds DIST==VERSION for cp311 aarch64
  local dist="$1" ver="$2" dir="$WORK/site-$1"
  [ -d "$dir/$dist-$ver.dist-info" ] && return 0
  rm -rf "$dir" "$WORK/peers-wheels/$dist-"*
  mkdir -p "$WORK/peers-wheels"
  "$PEERS_PY" -m pip download -q --no-deps --only-binary=:all: --implementation cp --abi cp311 \
    --python-version 3.11 --platform manylinux_2_28_aarch64 --platform manylinux2014_aarch64 \
    -d "$WORK/peers-wheels" "$dist==$ver"
  "$PEERS_PY" -m pip install -q --no-deps --no-compile --only-binary=:all: --implementation cp --abi cp311 \
    --python-version 3.11 --platform manylinux_2_28_aarch64 --platform manylinux2014_aarch64 \
    --target "$dir" "$WORK/peers-wheels/$dist-$ver-"*.whl
}
site ncnn "$NCNN_VERSION"
site onnxruntime "$ORT_VERSION"

# ---- 3. counts ---------------------------------------------------------------------
# A cortex-a76 /proc/cpuinfo, one block per host CPU (/sys/devices/system/cpu is the host's).
CPUINFO="$PDIR/cpuinfo-cortex-a76"
: >"$CPUINFO"
for ((i = 0; i < $(nproc --all); i++)); do
  cat >>"$CPUINFO" <<EOF
processor	: $i
BogoMIPS	: 50.00
Features	: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp
CPU implementer	: 0x41
CPU architecture: 8
CPU variant	: 0x4
CPU part	: 0xd0b
CPU revision	: 1

EOF
done

emulate() {  # emulate OUT_BASE PYTHONPATH SCRIPT ARGS...: one counted run
  local base="$1" pp="$2"; shift 2
  rm -f "$base.txt"
  unshare -m sh -c 'mount --bind "$0" /proc/cpuinfo && exec "$@"' "$CPUINFO" \
    setarch x86_64 -R env PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1 LITEPOSE_NUM_THREADS=1 \
      OMP_NUM_THREADS=1 PYTHONPATH="$pp" \
    qemu-aarch64 -L "$SYSROOT" -cpu "$CPU" -plugin "$PLUGIN,out=$base.txt" \
    "$SYSROOT/usr/bin/python3.11" "$@" >"$base.out" 2>"$base.log" ||
    { echo "FAILED: $*" >&2; tail -20 "$base.log" >&2; return 1; }
  local nm n
  nm="$(grep -c '^marker ' "$base.txt" || true)"
  [ "$nm" = 2 ] || { echo "FAILED: $* gave $nm markers (want 2), see $base.txt" >&2; return 1; }
  n="$(awk '$1 == "marker" && $2 == 2 {print $3}' "$base.txt")"
  echo "$n" >"$base.count"
}

declare -A MACS=([XS]=0.883e9 [S]=3.614e9 [M]=5.264e9 [L]=9.962e9)
LP="$WORK/site-litepose:$WORK/site-numpy"
qemu="$(qemu-aarch64 --version | head -1)"
echo "$qemu, -cpu $CPU; ncnn $NCNN_VERSION, onnxruntime $ORT_VERSION, litepose $(sed -n 's/^Version: //p' "$WORK"/site-litepose/litepose-*.dist-info/METADATA)"
for a in "${ARCHS[@]}"; do
  t0=$SECONDS
  emulate "$RES/$a-litepose" "$LP" "$HERE/forward.py" "$a"
  emulate "$RES/$a-ncnn" "$WORK/site-ncnn:$WORK/site-numpy" "$HERE/peers.py" ncnn "$a" "$PDIR"
  emulate "$RES/$a-ort" "$WORK/site-onnxruntime:$WORK/site-numpy" "$HERE/peers.py" ort "$a" "$PDIR"
  ((CHECK)) && emulate "$RES/$a-litepose-check" "$LP" "$HERE/peers.py" litepose "$a" "$PDIR"
  for r in ncnn ort $( ((CHECK)) && echo litepose-check); do
    sed -n 's/^peers //p' "$RES/$a-$r.out" >"$RES/$a-$r.json"
    echo "  $a $r: $(cat "$RES/$a-$r.json")"
  done
  echo "  $a: emulated in $((SECONDS - t0)) s"
done

echo
printf '| %-5s | %-9s | %-12s | %-7s | %-12s | %-7s | %-12s | %-7s | %-21s | %-14s |\n' \
  model "true MACs" litepose "per MAC" ncnn "per MAC" ORT "per MAC" "litepose / best peer" "goal (0.7 x)"
echo '|---|---|---|---|---|---|---|---|---|---|'
for a in "${ARCHS[@]}"; do
  awk -v a="$a" -v m="${MACS[$a]}" -v l="$(cat "$RES/$a-litepose.count")" \
      -v n="$(cat "$RES/$a-ncnn.count")" -v o="$(cat "$RES/$a-ort.count")" 'BEGIN {
    b = n < o ? n : o; bn = n < o ? "ncnn" : "ORT"
    printf "| %-5s | %7.3f G | %10.4f G | %7.3f | %10.4f G | %7.3f | %10.4f G | %7.3f | %6.3f (vs %-4s) %s | <= %8.3f G |\n",
      a, m / 1e9, l / 1e9, l / m, n / 1e9, n / m, o / 1e9, o / m, l / b, bn, (l <= 0.7 * b ? "ok" : "  "), 0.7 * b / 1e9 }'
done
echo
echo "exact counts (marker 2 = the measured forward):"
for a in "${ARCHS[@]}"; do
  echo "  $a litepose $(cat "$RES/$a-litepose.count")  ncnn $(cat "$RES/$a-ncnn.count")  ort $(cat "$RES/$a-ort.count")" \
    "$( ((CHECK)) && echo " (peers.py litepose: $(cat "$RES/$a-litepose-check.count"))")"
done
echo "total: $SECONDS s"
