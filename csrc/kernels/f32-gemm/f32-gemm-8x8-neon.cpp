// f32_gemm_8x8__neon: 1x1 convolution, 8 rows x 8 output channels, armv8-a
// ASIMD (every aarch64 core: Cortex-A53/A72/A76, Carmel, ...).
//
// Design
//   Panel loop outermost (one packed (k+1) x 8 panel, <= 31 KiB for LitePose,
//   stays in L1), row tiles of 8 inside.  The reduction runs 4 k at a time:
//   one q load per row brings a[i][k..k+3], and the by-element form of FMLA
//   (vfmaq_laneq_f32) multiplies a weight row by lane q of it, so A is never
//   broadcast:
//
//     k step kk+q:   w[kk+q][0:4]  w[kk+q][4:8]     (v w0, w1: one ldp)
//     a0[q] ->       acc00         acc01
//     a1[q] ->       acc10         acc11
//       ...           ...           ...            16 q accumulators
//     a7[q] ->       acc70         acc71
//
//   Registers: 16 accumulators + 8 A quads + 2 weights = 26 of 32.  Per 4 k:
//   8 A loads + 4 weight ldp + 64 FMLA, about 0.30 instructions per MAC
//   (the fp32 floor is 0.25), and 16 independent FMA chains cover the
//   2 pipes x 4-cycle latency of A72/A76.  k % 4 leftovers use the scalar
//   broadcast form (vfmaq_n_f32).  8 output channels = the packed panel
//   width, so no FMLA is spent on padding except in the last panel.
//
//   Rows past m in the last tile re-read the last valid row and are not
//   stored.  The epilogue per row adds the residual (read before the store,
//   so c may alias r), clamps and stores exactly n columns (lane by lane on
//   the last panel's tail).  Reads of A stay within k floats of each row.
// Contract: kernels.h (GemmFn); weights packed with nr = 8.
#include <arm_neon.h>

#include <algorithm>

#include "kernels/f32-gemm/f32-gemm.h"

namespace litepose::kernels {

namespace {

constexpr size_t kMR = 8, kNR = 8;

// One k step (lane Q of the 4 A values held per row).
template <size_t MR, int Q>
inline void step(float32x4_t* acc0, float32x4_t* acc1, const float32x4_t* av, const float* w) {
  const float32x4_t w0 = vld1q_f32(w + Q * kNR), w1 = vld1q_f32(w + Q * kNR + 4);
#pragma GCC unroll 8
  for (size_t i = 0; i < MR; ++i) {
    acc0[i] = vfmaq_laneq_f32(acc0[i], w0, av[i], Q);
    acc1[i] = vfmaq_laneq_f32(acc1[i], w1, av[i], Q);
  }
}

template <size_t MR>
inline void tile(size_t mb, size_t nb, size_t k, const float* a, size_t a_stride, const float* panel,
                 float* c, size_t c_stride, const float* r, size_t r_stride, float lo, float hi) {
  const float32x4_t vmin = vdupq_n_f32(lo), vmax = vdupq_n_f32(hi);
  const float* ap[MR];
#pragma GCC unroll 8
  for (size_t i = 0; i < MR; ++i) ap[i] = a + std::min(i, mb - 1) * a_stride;

  float32x4_t acc0[MR], acc1[MR];
  const float32x4_t b0 = vld1q_f32(panel), b1 = vld1q_f32(panel + 4);
#pragma GCC unroll 8
  for (size_t i = 0; i < MR; ++i) {
    acc0[i] = b0;
    acc1[i] = b1;
  }
  const float* w = panel + kNR;
  size_t kk = 0;
  for (; kk + 4 <= k; kk += 4, w += 4 * kNR) {
    float32x4_t av[MR];
#pragma GCC unroll 8
    for (size_t i = 0; i < MR; ++i) av[i] = vld1q_f32(ap[i] + kk);
    step<MR, 0>(acc0, acc1, av, w);
    step<MR, 1>(acc0, acc1, av, w);
    step<MR, 2>(acc0, acc1, av, w);
    step<MR, 3>(acc0, acc1, av, w);
  }
  for (; kk < k; ++kk, w += kNR) {
    const float32x4_t w0 = vld1q_f32(w), w1 = vld1q_f32(w + 4);
#pragma GCC unroll 8
    for (size_t i = 0; i < MR; ++i) {
      const float s = ap[i][kk];
      acc0[i] = vfmaq_n_f32(acc0[i], w0, s);
      acc1[i] = vfmaq_n_f32(acc1[i], w1, s);
    }
  }

#pragma GCC unroll 8
  for (size_t i = 0; i < MR; ++i) {
    if (i >= mb) break;
    float* crow = c + i * c_stride;
    const float* rrow = r ? r + i * r_stride : nullptr;
    float32x4_t v0 = acc0[i], v1 = acc1[i];
    if (nb == kNR) {
      if (rrow) {
        v0 = vaddq_f32(v0, vld1q_f32(rrow));
        v1 = vaddq_f32(v1, vld1q_f32(rrow + 4));
      }
      vst1q_f32(crow, vminq_f32(vmaxq_f32(v0, vmin), vmax));
      vst1q_f32(crow + 4, vminq_f32(vmaxq_f32(v1, vmin), vmax));
    } else {  // last panel, nb < 8 columns
      float t[kNR];
      vst1q_f32(t, v0);
      vst1q_f32(t + 4, v1);
      for (size_t j = 0; j < nb; ++j) {
        float x = t[j];
        if (rrow) x += rrow[j];
        crow[j] = std::min(std::max(x, lo), hi);
      }
    }
  }
}

}  // namespace

void f32_gemm_8x8__neon(size_t m, size_t n, size_t k, const float* a, size_t a_stride,
                        const float* packed_w, float* c, size_t c_stride, const float* r,
                        size_t r_stride, float min, float max) {
  for (size_t j0 = 0; j0 < n; j0 += kNR) {
    const float* panel = packed_w + (j0 / kNR) * (k + 1) * kNR;
    const size_t nb = std::min(kNR, n - j0);
    size_t i0 = 0;
    for (; i0 + kMR <= m; i0 += kMR)
      tile<kMR>(kMR, nb, k, a + i0 * a_stride, a_stride, panel, c + i0 * c_stride + j0, c_stride,
                r ? r + i0 * r_stride + j0 : nullptr, r_stride, min, max);
    if (i0 < m) {
      const size_t mb = m - i0;
      const float* ai = a + i0 * a_stride;
      float* ci = c + i0 * c_stride + j0;
      const float* ri = r ? r + i0 * r_stride + j0 : nullptr;
      if (mb > 4)
        tile<kMR>(mb, nb, k, ai, a_stride, panel, ci, c_stride, ri, r_stride, min, max);
      else
        tile<4>(mb, nb, k, ai, a_stride, panel, ci, c_stride, ri, r_stride, min, max);
    }
  }
}

}  // namespace litepose::kernels
