// f32_gemm_6x16__avx2: 1x1 convolution, 6 rows x 16 output channels, AVX2+FMA.
//
// Design
//   Row blocks of A outermost when A is large and n spans several panels
//   (kABlockBytes), then the panel loop (one packed (k+1) x 16 panel stays
//   in L1/L2), row tiles of 6 inside.  Per k step two ymm loads of the
//   panel row and six broadcasts feed 12 independent FMA chains:
//   12 accumulators + 2 weights + 1 broadcast = 15 of the 16 ymm registers,
//   and 12 chains cover the 2 pipes x 4-cycle FMA latency of Haswell..Zen 4.
//
//     k step:      w[k][0:8]  w[k][8:16]   (ymm w0, w1)
//     a[0][k] ->   acc00      acc01
//     a[1][k] ->   acc10      acc11
//       ...         ...        ...         12 ymm accumulators
//     a[5][k] ->   acc50      acc51
//
//   A panel with at most 8 valid columns (n % 16 in 1..8) runs a one-column
//   variant, so no FMA is spent on its zero padding.  Rows past m in the
//   last tile re-read the last valid row and are not stored.
//
// Epilogue: + residual for all rows of the tile, then clamp and store
// exactly n columns (_mm256_maskstore_ps on the tail); every residual element
// is read before the tile stores anything, so c may alias r.
// Contract: kernels.h (GemmFn); weights packed with nr = 16.
#include <immintrin.h>

#include <algorithm>

#include "kernels/f32-gemm/f32-gemm.h"

namespace litepose::kernels {

namespace {

constexpr size_t kNR = 16;
// Bytes of A one row block may hold: every panel of n is applied to a block
// of A rows while they are in L1, instead of streaming all of A once per
// panel (with m = 65536 and k = 24..32 A is 6-8 MB, read from L3 for each of
// n/16 panels).  Zen 3, bench_kernels, LitePose-L: 1.2-1.4x on m = 16384 ..
// 65536, k = 24..32, n = 24..144; 128 KB gave less.
constexpr size_t kABlockBytes = 32 * 1024;

inline __m256i ymm_mask(size_t valid) {  // lanes < valid set
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(valid)), idx);
}

template <int MR, int G>
inline void tile(size_t mb, size_t nb, size_t k, const float* a, size_t a_stride,
                 const float* panel, float* c, size_t c_stride, const float* r, size_t r_stride,
                 __m256 vmin, __m256 vmax) {
  __m256 acc[MR][G];
  const float* ap[MR];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) ap[i] = a + std::min<size_t>(i, mb - 1) * a_stride;
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 2
    for (int j = 0; j < G; ++j) acc[i][j] = _mm256_loadu_ps(panel + 8 * j);

  const float* wk = panel + kNR;
  for (size_t kk = 0; kk < k; ++kk, wk += kNR) {
    __m256 w[G];
#pragma GCC unroll 2
    for (int j = 0; j < G; ++j) w[j] = _mm256_loadu_ps(wk + 8 * j);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const __m256 av = _mm256_broadcast_ss(ap[i] + kk);
#pragma GCC unroll 2
      for (int j = 0; j < G; ++j) acc[i][j] = _mm256_fmadd_ps(av, w[j], acc[i][j]);
    }
  }

  // Pass 1 adds the residual of every row of the tile, pass 2 stores: with
  // c == r, no residual load waits behind an overlapping (masked) store of
  // the previous row, and every residual element is read before any store.
  const bool full = nb == static_cast<size_t>(8 * G);
  __m256i mk[G];
#pragma GCC unroll 2
  for (int j = 0; j < G; ++j) mk[j] = ymm_mask(nb > 8 * static_cast<size_t>(j) ? nb - 8 * j : 0);
  if (r) {
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      if (static_cast<size_t>(i) >= mb) break;
      const float* rr = r + i * r_stride;
#pragma GCC unroll 2
      for (int j = 0; j < G; ++j)
        acc[i][j] = _mm256_add_ps(acc[i][j], full ? _mm256_loadu_ps(rr + 8 * j) : _mm256_maskload_ps(rr + 8 * j, mk[j]));
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
    if (static_cast<size_t>(i) >= mb) break;
    float* cr = c + i * c_stride;
#pragma GCC unroll 2
    for (int j = 0; j < G; ++j) {
      const __m256 v = _mm256_min_ps(_mm256_max_ps(acc[i][j], vmin), vmax);
      if (full) _mm256_storeu_ps(cr + 8 * j, v);
      else _mm256_maskstore_ps(cr + 8 * j, mk[j], v);
    }
  }
}

template <int MR, int G>
void panel_rows(size_t m, size_t nb, size_t k, const float* a, size_t a_stride, const float* panel,
                float* c, size_t c_stride, const float* r, size_t r_stride, __m256 vmin, __m256 vmax) {
  for (size_t i0 = 0; i0 < m; i0 += MR) {
    const size_t mb = std::min<size_t>(MR, m - i0);
    tile<MR, G>(mb, nb, k, a + i0 * a_stride, a_stride, panel, c + i0 * c_stride, c_stride,
                r ? r + i0 * r_stride : nullptr, r_stride, vmin, vmax);
  }
}

}  // namespace

void f32_gemm_6x16__avx2(size_t m, size_t n, size_t k, const float* a, size_t a_stride,
                         const float* packed_w, float* c, size_t c_stride, const float* r,
                         size_t r_stride, float min, float max) {
  constexpr int MR = 6;
  const __m256 vmin = _mm256_set1_ps(min), vmax = _mm256_set1_ps(max);
  // Row blocks of A (see kABlockBytes) when more than one panel would
  // re-read a large A.
  size_t mc = m;
  if (n > kNR && m * k * sizeof(float) > kABlockBytes)
    mc = std::max<size_t>(MR, kABlockBytes / (k * sizeof(float)) / MR * MR);
  for (size_t i0 = 0; i0 < m; i0 += mc) {
    const size_t mb = std::min(mc, m - i0);
    const float* ai = a + i0 * a_stride;
    for (size_t j0 = 0; j0 < n; j0 += kNR) {
      const float* panel = packed_w + (j0 / kNR) * (k + 1) * kNR;
      const size_t nb = std::min(kNR, n - j0);
      float* cj = c + i0 * c_stride + j0;
      const float* rj = r ? r + i0 * r_stride + j0 : nullptr;
      if (nb <= 8)
        panel_rows<MR, 1>(mb, nb, k, ai, a_stride, panel, cj, c_stride, rj, r_stride, vmin, vmax);
      else
        panel_rows<MR, 2>(mb, nb, k, ai, a_stride, panel, cj, c_stride, rj, r_stride, vmin, vmax);
    }
  }
}

}  // namespace litepose::kernels
