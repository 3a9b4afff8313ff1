// f32_gemm_4x8__scalar: the portable 1x1-convolution kernel.
//
// Production fallback for CPUs without a SIMD path (and the baseline every
// SIMD kernel is measured against).  Tile: 4 rows x 8 output channels held in
// a local accumulator array; the panel loop is outermost so one packed weight
// panel ((k+1) x 8 floats, <= 23 KiB for LitePose) stays in L1 while all rows
// stream past it.  Contract: kernels.h (GemmFn).
#include <algorithm>

#include "kernels/f32-gemm/f32-gemm.h"

namespace litepose::kernels {

void f32_gemm_4x8__scalar(size_t m, size_t n, size_t k, const float* a, size_t a_stride,
                          const float* packed_w, float* c, size_t c_stride, const float* r,
                          size_t r_stride, float min, float max) {
  constexpr size_t MR = 4, NR = 8;
  for (size_t j0 = 0; j0 < n; j0 += NR) {
    const float* panel = packed_w + (j0 / NR) * (k + 1) * NR;
    const size_t nb = std::min(NR, n - j0);
    for (size_t i0 = 0; i0 < m; i0 += MR) {
      const size_t mb = std::min(MR, m - i0);
      float acc[MR][NR];
      for (size_t i = 0; i < MR; ++i)
        for (size_t j = 0; j < NR; ++j) acc[i][j] = panel[j];
      const float* arow[MR];
      for (size_t i = 0; i < MR; ++i) arow[i] = a + (i0 + std::min(i, mb - 1)) * a_stride;
      const float* wk = panel + NR;
      for (size_t kk = 0; kk < k; ++kk, wk += NR) {
        for (size_t i = 0; i < MR; ++i) {
          const float av = arow[i][kk];
          for (size_t j = 0; j < NR; ++j) acc[i][j] += av * wk[j];
        }
      }
      for (size_t i = 0; i < mb; ++i) {
        float* crow = c + (i0 + i) * c_stride + j0;
        const float* rrow = r ? r + (i0 + i) * r_stride + j0 : nullptr;
        for (size_t j = 0; j < nb; ++j) {
          float v = acc[i][j];
          if (rrow) v += rrow[j];
          crow[j] = std::min(std::max(v, min), max);
        }
      }
    }
  }
}

}  // namespace litepose::kernels
