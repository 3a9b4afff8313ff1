# Cross-compiling litepose for 64-bit ARM Linux (Raspberry Pi 4/5, Jetson,
# any armv8-a board) from an x86-64 Debian/Ubuntu host.
#
#   apt-get install g++-aarch64-linux-gnu qemu-user
#   cmake -S . -B build/aarch64 \
#         -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake \
#         -DLITEPOSE_BUILD_PYTHON=OFF
#   cmake --build build/aarch64 -j && ctest --test-dir build/aarch64
#
# ctest runs the test binaries through qemu-user (binfmt need not be
# mounted): CMAKE_CROSSCOMPILING_EMULATOR is
#   qemu-aarch64 -L <sysroot> -cpu <LITEPOSE_QEMU_CPU>
# LITEPOSE_QEMU_CPU picks the emulated core: cortex-a72 (Raspberry Pi 4,
# armv8.0-a: ASIMD only) or cortex-a76 (Raspberry Pi 5: + fp16, dotprod),
# "max" for every extension qemu knows.  It only affects how tests run, never
# the code generated: the build targets armv8-a and anything newer is chosen
# at run time (csrc/ops/dispatch.cpp).
#
# Overridable cache variables: LITEPOSE_CROSS_PREFIX (compiler prefix),
# LITEPOSE_AARCH64_SYSROOT (the target's libc, for qemu -L and find_*).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(LITEPOSE_CROSS_PREFIX "aarch64-linux-gnu-" CACHE STRING "Cross compiler prefix")
set(LITEPOSE_AARCH64_SYSROOT "/usr/aarch64-linux-gnu" CACHE PATH
    "aarch64 runtime root (Debian's libc6-arm64-cross), used by qemu -L")
set(LITEPOSE_QEMU_CPU "cortex-a72" CACHE STRING
    "qemu-aarch64 -cpu for running tests (cortex-a72, cortex-a76, max, ...)")

set(CMAKE_C_COMPILER ${LITEPOSE_CROSS_PREFIX}gcc)
set(CMAKE_CXX_COMPILER ${LITEPOSE_CROSS_PREFIX}g++)

# Baseline: armv8-a (ASIMD is mandatory there).  No -mcpu: a Pi 4 build must
# not contain armv8.2 instructions outside a runtime-checked path.
set(CMAKE_C_FLAGS_INIT "-march=armv8-a")
set(CMAKE_CXX_FLAGS_INIT "-march=armv8-a")

set(CMAKE_CROSSCOMPILING_EMULATOR
    "qemu-aarch64;-L;${LITEPOSE_AARCH64_SYSROOT};-cpu;${LITEPOSE_QEMU_CPU}")

# Libraries and headers come from the target root only; programs from the host.
set(CMAKE_FIND_ROOT_PATH ${LITEPOSE_AARCH64_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
# Packages: BOTH, so a host pybind11 (pip) is found for the wheel build; its
# CMake config is architecture independent.
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
