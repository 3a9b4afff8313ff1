// f32_deconv_4x4s2__avx2: 4x4 stride-2 padding-1 transposed convolution,
// AVX2+FMA.
//
// Design
//   The phase decomposition of kernels.h: output pixel (2m+py, 2n+px) is a
//   2x2 convolution of the input around (m, n) with the phase's 4 taps, so an
//   output row of one parity py holds two interleaved "phase rows" (px = 0,
//   px = 1), each a small GEMM over (tap, ci).  We vectorise over output
//   channels (8 per ymm, up to 32 = 4 ymm per pass; a last partial ymm uses
//   _mm256_maskload/maskstore) and block T output pixels of one phase row
//   (consecutive n, output columns 2n+px):
//
//     per (tap, ci):  w[ph][tap][ci][co0 : co0+8*NZ]       NZ ymm loads
//       in(n0+0)[ci] (broadcast) -> acc[0][0..NZ)
//       in(n0+1)[ci] (broadcast) -> acc[1][0..NZ)
//       ...                                            T*NZ accumulators
//     NZ = 4 -> T = 3 (12 acc), 3 -> T = 4, 2 -> T = 6, 1 -> T = 10;
//     T*NZ + NZ + 1 <= 16 ymm registers.
//
//   Input rows outside the image drop their taps for the whole output row;
//   in x only the first (px = 0) and last (px = 1) pixel of a phase row lose
//   a tap, so those run as single-pixel blocks with the tap dropped, and
//   every other block has all its taps.  The accumulators start from the
//   bias, or from what `out` holds when p.accumulate (the head adds the raw
//   branch onto the refined one); then the clamp.
// Contract: kernels.h (DeconvFn); computes output rows [oy0, oy1) only.
#include <immintrin.h>

#include <algorithm>

#include "kernels/f32-deconv/f32-deconv.h"

namespace litepose::kernels {

namespace {

struct Ctx {
  const float* in;
  size_t W, Ci, Co;
  const float* wph;     // phase weights [4 taps][Ci][Co], at channel co0
  const float* bias;    // at co0 (null when accumulate)
  float* orow;          // output row at column 0, channel co0
  bool accumulate;
  long iy[2];           // input row of tap ty, or -1 when outside
  int px;
  __m256i last;         // lanes of the last ymm
  __m256 vmin, vmax;
};

// tb (<= T) pixels n0 .. n0+tb-1 of phase row px; `tx_ok[tx]` says whether
// tap column tx is inside the image for every pixel of the block.
template <bool TAIL>
inline __m256 ld(const float* p, __m256i mk) {
  if constexpr (TAIL) return _mm256_maskload_ps(p, mk);
  else return _mm256_loadu_ps(p);
}
template <bool TAIL>
inline void st(float* p, __m256i mk, __m256 v) {
  if constexpr (TAIL) _mm256_maskstore_ps(p, mk, v);
  else _mm256_storeu_ps(p, v);
}

template <int NZ, int T, bool TAIL>
inline void block(const Ctx& c, long n0, const bool tx_ok[2]) {
  __m256 acc[T][NZ];
#pragma GCC unroll 16
  for (int t = 0; t < T; ++t) {
    float* o = c.orow + static_cast<size_t>(2 * (n0 + t) + c.px) * c.Co;
#pragma GCC unroll 4
    for (int j = 0; j < NZ; ++j) {
      if (TAIL && j == NZ - 1)
        acc[t][j] = ld<true>(c.accumulate ? o + 8 * j : c.bias + 8 * j, c.last);
      else
        acc[t][j] = ld<false>(c.accumulate ? o + 8 * j : c.bias + 8 * j, c.last);
    }
  }
  for (int ty = 0; ty < 2; ++ty) {
    if (c.iy[ty] < 0) continue;
    for (int tx = 0; tx < 2; ++tx) {
      if (!tx_ok[tx]) continue;  // tap outside the image: skipped
      const long ix0 = n0 + deconv_tap_offset(c.px, tx);
      const float* ip = c.in + (static_cast<size_t>(c.iy[ty]) * c.W + static_cast<size_t>(ix0)) * c.Ci;
      const float* wp = c.wph + static_cast<size_t>(ty * 2 + tx) * c.Ci * c.Co;
      for (size_t ci = 0; ci < c.Ci; ++ci, ++ip, wp += c.Co) {
        __m256 wv[NZ];
#pragma GCC unroll 4
        for (int j = 0; j < NZ; ++j)
          wv[j] = (TAIL && j == NZ - 1) ? ld<true>(wp + 8 * j, c.last) : ld<false>(wp + 8 * j, c.last);
#pragma GCC unroll 16
        for (int t = 0; t < T; ++t) {
          const __m256 xv = _mm256_broadcast_ss(ip + static_cast<size_t>(t) * c.Ci);
#pragma GCC unroll 4
          for (int j = 0; j < NZ; ++j) acc[t][j] = _mm256_fmadd_ps(xv, wv[j], acc[t][j]);
        }
      }
    }
  }
#pragma GCC unroll 16
  for (int t = 0; t < T; ++t) {
    float* o = c.orow + static_cast<size_t>(2 * (n0 + t) + c.px) * c.Co;
#pragma GCC unroll 4
    for (int j = 0; j < NZ; ++j) {
      const __m256 v = _mm256_min_ps(_mm256_max_ps(acc[t][j], c.vmin), c.vmax);
      if (TAIL && j == NZ - 1) st<true>(o + 8 * j, c.last, v);
      else st<false>(o + 8 * j, c.last, v);
    }
  }
}

template <int NZ, int T, bool TAIL>
void phase_row(const Ctx& c) {
  const long W = static_cast<long>(c.W);
  const bool all[2] = {true, true};
  // The pixel that loses a tap: n = 0 for px = 0 (tap tx=1 reads n-1),
  // n = W-1 for px = 1 (tap tx=0 reads n+1).
  long n_lo = 0, n_hi = W;
  if (c.px == 0) {
    const bool ok[2] = {true, false};
    block<NZ, 1, TAIL>(c, 0, ok);
    n_lo = 1;
  } else {
    const bool ok[2] = {false, true};
    block<NZ, 1, TAIL>(c, W - 1, ok);
    n_hi = W - 1;
  }
  long n = n_lo;
  for (; n + T <= n_hi; n += T) block<NZ, T, TAIL>(c, n, all);
  if constexpr (T > 4)
    for (; n + 4 <= n_hi; n += 4) block<NZ, 4, TAIL>(c, n, all);
  for (; n + 2 <= n_hi; n += 2) block<NZ, 2, TAIL>(c, n, all);
  for (; n < n_hi; ++n) block<NZ, 1, TAIL>(c, n, all);
}

}  // namespace

void f32_deconv_4x4s2__avx2(const DeconvParams& p, const float* in, const float* w,
                               const float* bias, float* out, size_t oy0, size_t oy1) {
  const size_t Ci = p.in_c, Co = p.out_c, OW = 2 * p.in_w;
  const long H = static_cast<long>(p.in_h);
  Ctx c;
  c.in = in;
  c.W = p.in_w;
  c.Ci = Ci;
  c.Co = Co;
  c.accumulate = p.accumulate;
  c.vmin = _mm256_set1_ps(p.min);
  c.vmax = _mm256_set1_ps(p.max);
  for (size_t oy = oy0; oy < oy1; ++oy) {
    const int py = static_cast<int>(oy & 1);
    const long m = static_cast<long>(oy >> 1);
    for (int ty = 0; ty < 2; ++ty) {
      const long iy = m + deconv_tap_offset(py, ty);
      c.iy[ty] = iy >= 0 && iy < H ? iy : -1;
    }
    for (size_t co0 = 0; co0 < Co; co0 += 32) {
      const size_t cb = std::min<size_t>(32, Co - co0);
      const int nz = static_cast<int>((cb + 7) / 8);
      const size_t rem = cb - 8 * (nz - 1);
      const bool tail = rem < 8;
      c.last = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(rem)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
      c.bias = bias ? bias + co0 : nullptr;
      c.orow = out + oy * OW * Co + co0;
      for (int px = 0; px < 2; ++px) {
        c.px = px;
        c.wph = w + static_cast<size_t>(py * 2 + px) * 4 * Ci * Co + co0;
        switch (nz * 2 + tail) {
          case 2: phase_row<1, 10, false>(c); break;
          case 3: phase_row<1, 10, true>(c); break;
          case 4: phase_row<2, 6, false>(c); break;
          case 5: phase_row<2, 6, true>(c); break;
          case 6: phase_row<3, 4, false>(c); break;
          case 7: phase_row<3, 4, true>(c); break;
          case 8: phase_row<4, 3, false>(c); break;
          default: phase_row<4, 3, true>(c); break;
        }
      }
    }
  }
}

}  // namespace litepose::kernels
