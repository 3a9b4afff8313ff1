// Shared by the AVX-512F kernel translation units (only they include it;
// they are built with -mavx512f, see cmake/LiteposeIsa.cmake): the
// intrinsics header, one compiler workaround and the tail-lane mask.
// Internal linkage, so each translation unit gets its own copy.
#pragma once

#include <immintrin.h>

#include <cstddef>

// GCC 12's AVX-512 min/max/extract intrinsics start from
// _mm512_undefined_ps(), which it then reports as uninitialised (GCC bug
// 105593, fixed in 13); the warning is about the header, not the kernels.
// Not pushed/popped: it covers the rest of the including file.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace litepose::kernels {
namespace {

// Mask of the first min(valid, 16) lanes of a zmm register.
inline __mmask16 lane_mask(size_t valid) {
  return static_cast<__mmask16>(valid >= 16 ? 0xFFFFu : ((1u << valid) - 1u));
}

}  // namespace
}  // namespace litepose::kernels
