# Per-ISA translation units.
#
# Kernel files are named <family>-<tile>-<isa>.cpp (csrc/kernels/<family>/).
# Each ISA's files get that ISA's compiler flags and nothing else does, so
# code built for AVX-512 can never leak into a path the scalar build runs.
# Which of the compiled-in kernels runs is decided at run time
# (csrc/ops/dispatch.cpp) from the CPU's features.
include(CheckCXXCompilerFlag)

set(LITEPOSE_ISA_DEFINITIONS "")
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  set(LITEPOSE_ARCH_X86 ON)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64|ARM64)$")
  set(LITEPOSE_ARCH_ARM64 ON)
endif()

option(LITEPOSE_SIMD "Compile the SIMD kernels (off: scalar kernels only)" ON)

function(litepose_add_isa_sources out_var)
  set(srcs ${${out_var}})
  if(NOT LITEPOSE_SIMD)
    return()
  endif()
  if(LITEPOSE_ARCH_X86)
    file(GLOB avx2 CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/csrc/kernels/*/*-avx2.cpp)
    file(GLOB avx512 CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/csrc/kernels/*/*-avx512f.cpp)
    set_source_files_properties(${avx2} PROPERTIES COMPILE_OPTIONS "-mavx2;-mfma;-mf16c")
    set_source_files_properties(${avx512} PROPERTIES COMPILE_OPTIONS "-mavx512f;-mavx2;-mfma;-mf16c")
    list(APPEND srcs ${avx2} ${avx512})
    set(defs "")
    if(avx2)
      list(APPEND defs LITEPOSE_HAVE_AVX2=1)
    endif()
    if(avx512)
      list(APPEND defs LITEPOSE_HAVE_AVX512F=1)
    endif()
    set(LITEPOSE_ISA_DEFINITIONS ${defs} PARENT_SCOPE)
  elseif(LITEPOSE_ARCH_ARM64)
    file(GLOB neon CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/csrc/kernels/*/*-neon.cpp)
    list(APPEND srcs ${neon})
    if(neon)
      set(LITEPOSE_ISA_DEFINITIONS LITEPOSE_HAVE_NEON=1 PARENT_SCOPE)
    endif()
  endif()
  set(${out_var} ${srcs} PARENT_SCOPE)
endfunction()
