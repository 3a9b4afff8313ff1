#!/usr/bin/env bash
# ARM cost of one litepose forward pass, in executed aarch64 instructions
# (deterministic under emulation, unlike wall time), per issue 8.
#
#   benchmarks/arm_instructions/run.sh [XS S M L]
#
# Needs the emulated arm64 Python and the aarch64 wheel that
# scripts/aarch64_wheel.sh leaves in LITEPOSE_ARM_WORK (default
# /tmp/litepose-aarch64).  Builds the insn_count TCG plugin against the
# qemu-plugin.h of the installed qemu-user's Debian source (fetched with a
# private apt state and a deb-src line; the host's apt config is untouched),
# then for each model runs forward.py under
#   qemu-aarch64 -cpu cortex-a76 -plugin insn_count.so
# and prints instructions of the measured forward and instructions per MAC.
# Not a CI gate: a benchmark.  Peers (ncnn, ONNX Runtime): run_peers.sh.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK="${LITEPOSE_ARM_WORK:-/tmp/litepose-aarch64}"
CPU="${LITEPOSE_BENCH_CPU:-cortex-a76}"
SYSROOT="$WORK/sysroot"
ARCHS=("$@")
((${#ARCHS[@]})) || ARCHS=(XS S M L)
[ -x "$SYSROOT/usr/bin/python3.11" ] && [ -d "$WORK/site-litepose/litepose" ] ||
  { echo "run scripts/aarch64_wheel.sh first (needs $WORK/sysroot and site-litepose)" >&2; exit 1; }

# ---- the plugin ------------------------------------------------------------------
PLUGIN="$WORK/insn_count/libinsn_count.so"
if [ ! -f "$PLUGIN" ] || [ "$HERE/insn_count.c" -nt "$PLUGIN" ]; then
  S="$WORK/insn_count"
  mkdir -p "$S"
  if [ ! -f "$S/qemu-plugin.h" ]; then
    ver="$(dpkg-query -W -f '${source:Version}' qemu-user)"
    A="$S/apt"
    mkdir -p "$A/state/lists/partial" "$A/cache/archives/partial" "$A/etc/sources.list.d"
    : >"$A/state/status"
    k=/usr/share/keyrings/debian-archive-keyring.gpg
    {
      echo "deb-src [signed-by=$k] ${DEBIAN_MIRROR:-http://deb.debian.org/debian} bookworm main"
      echo "deb-src [signed-by=$k] http://deb.debian.org/debian-security bookworm-security main"
    } >"$A/etc/sources.list"
    APT=(apt-get -qq -o Dir::State="$A/state" -o Dir::State::status="$A/state/status"
      -o Dir::Cache="$A/cache" -o Dir::Etc::SourceList="$A/etc/sources.list"
      -o Dir::Etc::SourceParts="$A/etc/sources.list.d" -o Debug::NoLocking=1)
    "${APT[@]}" update
    (cd "$S" && "${APT[@]}" source --download-only "qemu=$ver" 2>/dev/null)
    tar -xJf "$S"/qemu_*.orig.tar.xz -C "$S" --wildcards '*/include/qemu/qemu-plugin.h'
    cp "$S"/qemu-*/include/qemu/qemu-plugin.h "$S/qemu-plugin.h"
  fi
  cc -O2 -shared -fPIC -I"$S" "$HERE/insn_count.c" -o "$PLUGIN"
fi

# True MACs of one forward at the architecture's input size (issue 8).
declare -A MACS=([XS]=0.883e9 [S]=3.614e9 [M]=5.264e9 [L]=9.962e9)

printf '%-3s %16s %12s\n' model instructions per-MAC
for a in "${ARCHS[@]}"; do
  out="$WORK/insn_count/$a.txt"
  PYTHONPATH="$WORK/site-litepose:$WORK/site-numpy" PYTHONHASHSEED=0 LITEPOSE_NUM_THREADS=1 \
    qemu-aarch64 -L "$SYSROOT" -cpu "$CPU" -plugin "$PLUGIN,out=$out" \
    "$SYSROOT/usr/bin/python3.11" "$HERE/forward.py" "$a" 2>"$WORK/insn_count/$a.log" ||
    { cat "$WORK/insn_count/$a.log" >&2; exit 1; }
  n="$(awk '$1 == "marker" && $2 == 2 {print $3}' "$out")"
  # %.0f, not %d: mawk's %d stops at 2^31 - 1 (M and L count more)
  awk -v a="$a" -v n="$n" -v m="${MACS[$a]}" 'BEGIN { printf "%-3s %16.0f %12.3f\n", a, n, n / m }'
done
