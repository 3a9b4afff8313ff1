#!/usr/bin/env bash
# The aarch64 CI lane: cross-build the C++ tests for aarch64 and run them
# under qemu-user as a Raspberry Pi 4 core (cortex-a72: armv8.0, ASIMD only)
# and a Raspberry Pi 5 core (cortex-a76: + fp16, dotprod).
#
#   scripts/aarch64_lane.sh            # from anywhere; exits non-zero on any failure
#
# Needs a Debian/Ubuntu x86-64 host; installs g++-aarch64-linux-gnu and
# qemu-user with apt when missing (root, or sudo).  binfmt_misc is not
# needed: ctest calls qemu-aarch64 explicitly (CMAKE_CROSSCOMPILING_EMULATOR,
# cmake/toolchains/aarch64-linux-gnu.cmake).
#
# Per emulated CPU test_dispatch asserts the kernel set and CPU features the
# runtime detects (LITEPOSE_EXPECT_ISA, LITEPOSE_EXPECT_FEATURES).
#
# Environment: BUILD_DIR (default build/aarch64), JOBS (default nproc),
# LITEPOSE_LANE_CPUS (default "cortex-a72 cortex-a76").
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build/aarch64}"
JOBS="${JOBS:-$(nproc)}"
CPUS="${LITEPOSE_LANE_CPUS:-cortex-a72 cortex-a76}"
t_start=$SECONDS

log() { printf '[aarch64-lane %3ds] %s\n' "$((SECONDS - t_start))" "$*"; }

# ---- 1. toolchain + emulator --------------------------------------------
need=()
command -v aarch64-linux-gnu-g++ >/dev/null || need+=(g++-aarch64-linux-gnu)
command -v qemu-aarch64 >/dev/null || need+=(qemu-user)
command -v cmake >/dev/null || need+=(cmake)
if ((${#need[@]})); then
  log "installing ${need[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
log "$(aarch64-linux-gnu-g++ --version | head -1); $(qemu-aarch64 --version | head -1)"

# ---- 2. cross build ---------------------------------------------------------
GEN=()
command -v ninja >/dev/null && GEN=(-G Ninja)
if [ -f "$BUILD_DIR/CMakeCache.txt" ]; then GEN=(); fi  # keep the cache's generator
log "configure + build in $BUILD_DIR"
cmake -S "$ROOT" -B "$BUILD_DIR" "${GEN[@]}" \
  -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/toolchains/aarch64-linux-gnu.cmake" \
  -DCMAKE_BUILD_TYPE=Release \
  -DLITEPOSE_BUILD_PYTHON=OFF -DLITEPOSE_BUILD_TESTS=ON >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS"

# The NEON kernel set must be compiled in and chosen on every armv8 CPU; a
# build that silently fell back to scalar would otherwise pass.
expect_isa="${LITEPOSE_LANE_EXPECT_ISA:-neon}"

# ---- 3. tests under each emulated CPU ---------------------------------------
status=0
for cpu in $CPUS; do
  case "$cpu" in
    cortex-a72 | cortex-a53 | cortex-a57 | cortex-a35) feats="neon,-fp16,-dotprod" ;;
    cortex-a76 | neoverse-n1) feats="neon,fp16,dotprod" ;;
    *) feats="" ;;
  esac
  log "ctest under qemu-aarch64 -cpu $cpu (expect isa=$expect_isa features=${feats:-any})"
  cmake -S "$ROOT" -B "$BUILD_DIR" -DLITEPOSE_QEMU_CPU="$cpu" >/dev/null
  t0=$SECONDS
  if LITEPOSE_EXPECT_ISA="$expect_isa" LITEPOSE_EXPECT_FEATURES="$feats" \
    ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS" --timeout 600; then
    log "$cpu: passed in $((SECONDS - t0))s"
  else
    log "$cpu: FAILED"
    status=1
  fi
done

log "done (status $status)"
exit $status
