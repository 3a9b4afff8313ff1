// f32_gemm_8x32__avx512f: 1x1 convolution, 8 rows x 32 output channels.
//
// Design
//   Panel loop outermost (one packed panel of (k+1) x 32 floats stays in
//   L1/L2 while every row tile streams past it), row tiles of 8 inside.
//   Per k step: the panel row (2 zmm) is loaded once, each of the 8 a values
//   is broadcast and FMA'd into the tile: 16 independent FMA chains, far more
//   than the 4-cycle FMA latency x 1 zmm FMA/cycle of Zen 4 (two 256-bit
//   pipes) or the 2 x 4 of Intel's two 512-bit pipes need.
//
//     k step:      w[k][0:16]  w[k][16:32]        (zmm w0, w1)
//     a[0][k] ->   acc00       acc01
//     a[1][k] ->   acc10       acc11
//       ...          ...         ...              16 zmm accumulators
//     a[7][k] ->   acc70       acc71
//
//   Narrow panels (the last panel of n, or layers with n % 32 != 0) run a
//   variant with only the column groups they need, in units of 8 channels:
//   G = 1: one ymm, 2: one zmm, 3: zmm + ymm, 4: two zmm.  On Zen 4 a ymm FMA
//   costs half a zmm FMA, so n = 24, 40, 72, 120 ... waste no FMA issue
//   slots on the zero padding.
//   Rows past m in the last row tile re-read the last valid row (pointers
//   clamped) and are not stored.
//
// Epilogue: + residual for all rows of the tile, then clamp and store
// exactly n columns (k-masked stores on the tail); every residual element is
// read before the tile stores anything, so c may alias r.
// Contract: kernels.h (GemmFn); weights packed with nr = 32.
#include "kernels/avx512-common.h"

#include <algorithm>

#include "kernels/f32-gemm/f32-gemm.h"

namespace litepose::kernels {

namespace {

constexpr size_t kNR = 32;

// One row tile of MR rows x 8*G columns of one panel.  nb = valid columns.
template <int MR, int G>
inline void tile(size_t mb, size_t nb, size_t k, const float* a, size_t a_stride,
                 const float* panel, float* c, size_t c_stride, const float* r, size_t r_stride,
                 __m512 vmin, __m512 vmax) {
  constexpr int NZ = G / 2;           // full zmm column groups
  constexpr bool HY = (G & 1) != 0;   // one trailing ymm group
  __m512 acc[MR][NZ > 0 ? NZ : 1];
  __m256 accy[MR];

  const float* ap[MR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) ap[i] = a + std::min<size_t>(i, mb - 1) * a_stride;

#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 2
    for (int j = 0; j < NZ; ++j) acc[i][j] = _mm512_loadu_ps(panel + 16 * j);
    if constexpr (HY) accy[i] = _mm256_loadu_ps(panel + 16 * NZ);
  }

  const float* wk = panel + kNR;
  for (size_t kk = 0; kk < k; ++kk, wk += kNR) {
    __m512 w[NZ > 0 ? NZ : 1];
    __m256 wy;
#pragma GCC unroll 2
    for (int j = 0; j < NZ; ++j) w[j] = _mm512_loadu_ps(wk + 16 * j);
    if constexpr (HY) wy = _mm256_loadu_ps(wk + 16 * NZ);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      if constexpr (NZ > 0) {
        const __m512 av = _mm512_set1_ps(ap[i][kk]);
#pragma GCC unroll 2
        for (int j = 0; j < NZ; ++j) acc[i][j] = _mm512_fmadd_ps(av, w[j], acc[i][j]);
        if constexpr (HY) accy[i] = _mm256_fmadd_ps(_mm512_castps512_ps256(av), wy, accy[i]);
      } else {
        accy[i] = _mm256_fmadd_ps(_mm256_broadcast_ss(ap[i] + kk), wy, accy[i]);
      }
    }
  }

  // Epilogue.  Column groups: zmm j covers [16j, 16j+16), ymm covers
  // [16*NZ, 16*NZ+8).  Every lane mask is a zmm k-mask (the ymm group is
  // stored through the zmm that holds it): vmaskmovps is slow on AMD cores.
  // Pass 1 adds the residual of every row of the tile, pass 2 stores: with
  // c == r and a row stride that is not a multiple of 16, a row's masked
  // store shares a 64-byte span with the next row's residual load, and a
  // load waiting behind an overlapping masked store cannot be forwarded.
  __mmask16 mz[NZ > 0 ? NZ : 1];
#pragma GCC unroll 2
  for (int j = 0; j < NZ; ++j) {
    const size_t lo = 16 * static_cast<size_t>(j);
    mz[j] = nb <= lo ? static_cast<__mmask16>(0) : lane_mask(nb - lo);
  }
  const __mmask16 my = nb <= 16 * static_cast<size_t>(NZ) ? static_cast<__mmask16>(0) : lane_mask(nb - 16 * NZ);
  if (r) {
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      if (static_cast<size_t>(i) >= mb) break;
      const float* rr = r + i * r_stride;
#pragma GCC unroll 2
      for (int j = 0; j < NZ; ++j) acc[i][j] = _mm512_add_ps(acc[i][j], _mm512_maskz_loadu_ps(mz[j], rr + 16 * j));
      if constexpr (HY)
        accy[i] = _mm256_add_ps(accy[i], _mm512_castps512_ps256(_mm512_maskz_loadu_ps(my, rr + 16 * NZ)));
    }
  }
  const __m256 ymin = _mm512_castps512_ps256(vmin), ymax = _mm512_castps512_ps256(vmax);
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    if (static_cast<size_t>(i) >= mb) break;
    float* cr = c + i * c_stride;
#pragma GCC unroll 2
    for (int j = 0; j < NZ; ++j)
      _mm512_mask_storeu_ps(cr + 16 * j, mz[j], _mm512_min_ps(_mm512_max_ps(acc[i][j], vmin), vmax));
    if constexpr (HY)
      _mm512_mask_storeu_ps(cr + 16 * NZ, my,
                            _mm512_castps256_ps512(_mm256_min_ps(_mm256_max_ps(accy[i], ymin), ymax)));
  }
}

template <int MR, int G>
void panel_rows(size_t m, size_t nb, size_t k, const float* a, size_t a_stride, const float* panel,
                float* c, size_t c_stride, const float* r, size_t r_stride, __m512 vmin, __m512 vmax) {
  for (size_t i0 = 0; i0 < m; i0 += MR) {
    const size_t mb = std::min<size_t>(MR, m - i0);
    tile<MR, G>(mb, nb, k, a + i0 * a_stride, a_stride, panel, c + i0 * c_stride, c_stride,
                r ? r + i0 * r_stride : nullptr, r_stride, vmin, vmax);
  }
}

}  // namespace

void f32_gemm_8x32__avx512f(size_t m, size_t n, size_t k, const float* a, size_t a_stride,
                            const float* packed_w, float* c, size_t c_stride, const float* r,
                            size_t r_stride, float min, float max) {
  constexpr int MR = 8;
  const __m512 vmin = _mm512_set1_ps(min), vmax = _mm512_set1_ps(max);
  for (size_t j0 = 0; j0 < n; j0 += kNR) {
    const float* panel = packed_w + (j0 / kNR) * (k + 1) * kNR;
    const size_t nb = std::min(kNR, n - j0);
    float* cj = c + j0;
    const float* rj = r ? r + j0 : nullptr;
    switch ((nb + 7) / 8) {
      case 1: panel_rows<MR, 1>(m, nb, k, a, a_stride, panel, cj, c_stride, rj, r_stride, vmin, vmax); break;
      case 2: panel_rows<MR, 2>(m, nb, k, a, a_stride, panel, cj, c_stride, rj, r_stride, vmin, vmax); break;
      case 3: panel_rows<MR, 3>(m, nb, k, a, a_stride, panel, cj, c_stride, rj, r_stride, vmin, vmax); break;
      default: panel_rows<MR, 4>(m, nb, k, a, a_stride, panel, cj, c_stride, rj, r_stride, vmin, vmax); break;
    }
  }
}

}  // namespace litepose::kernels
