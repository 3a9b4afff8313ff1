// f32_deconv_4x4s2__avx512f: 4x4 stride-2 padding-1 transposed convolution,
// AVX-512F.
//
// Design
//   The phase decomposition of kernels.h: output pixel (2m+py, 2n+px) is a
//   2x2 convolution of the input around (m, n) with the phase's 4 taps, so an
//   output row of one parity py holds two interleaved "phase rows" (px = 0,
//   px = 1), each a small GEMM over (tap, ci).  We vectorise over output
//   channels, up to 64 per pass in groups of 8: G/2 zmm plus one ymm when G
//   is odd (Co = 40 -> zmm zmm ymm; on Zen 4 a ymm FMA costs half a zmm one,
//   so no issue slot goes to padding; a partial last group is masked), and
//   block T output pixels of one phase row (consecutive n, columns 2n+px):
//
//     per (tap, ci):  w[ph][tap][ci][co0 : co0+8*G]        G/2 zmm (+ ymm)
//       in(n0+0)[ci] (broadcast) -> acc[0][...]
//       in(n0+1)[ci] (broadcast) -> acc[1][...]
//       ...                                    T x (G/2 zmm + ymm) accumulators
//     G = 8, 7 -> T = 5;  G = 6 -> T = 6;  G = 5 -> T = 8;  G <= 4 -> T = 12
//     (at most 24 accumulators + the weight row in the 32 zmm registers;
//     T measured on the LitePose shapes, benchmarks/bench_kernels).
//
//   Co <= 32 is handed to the AVX2 kernel (see the entry point: fewer
//   broadcasts per FMA, measured faster on Zen 4).
//
//   Input rows outside the image drop their taps for the whole output row;
//   in x only the first (px = 0) and last (px = 1) pixel of a phase row lose
//   a tap, so those run as single-pixel blocks with the tap dropped, and
//   every other block has all its taps.  The accumulators start from the
//   bias, or from what `out` holds when p.accumulate (the head adds the raw
//   branch onto the refined one); then the clamp.
// Contract: kernels.h (DeconvFn); computes output rows [oy0, oy1) only.
#include "kernels/avx512-common.h"

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
  __mmask16 zlast;      // lanes of the last zmm group (TAIL, G even)
  __m256i ylast;        // lanes of the ymm group (TAIL, G odd)
  __m512 vmin, vmax;
};

// Column groups of 8 channels: G/2 zmm + (G odd) one ymm.  TAIL: the last
// group is partial (Co % 8 != 0 in the last chunk) and uses masks.
template <int G, bool TAIL>
struct Cols {
  static constexpr int NZ = G / 2;
  static constexpr bool HY = (G & 1) != 0;
  static __m512 loadz(const Ctx& c, const float* p, int j) {
    if (TAIL && !HY && j == NZ - 1) return _mm512_maskz_loadu_ps(c.zlast, p);
    return _mm512_loadu_ps(p);
  }
  static __m256 loady(const Ctx& c, const float* p) {
    if (TAIL) return _mm256_maskload_ps(p, c.ylast);
    return _mm256_loadu_ps(p);
  }
  static void storez(const Ctx& c, float* p, int j, __m512 v) {
    if (TAIL && !HY && j == NZ - 1) _mm512_mask_storeu_ps(p, c.zlast, v);
    else _mm512_storeu_ps(p, v);
  }
  static void storey(const Ctx& c, float* p, __m256 v) {
    if (TAIL) _mm256_maskstore_ps(p, c.ylast, v);
    else _mm256_storeu_ps(p, v);
  }
};

// T pixels n0 .. n0+T-1 of phase row px; `tx_ok[tx]` says whether tap
// column tx is inside the image for every pixel of the block.
template <int G, int T, bool TAIL>
inline void block(const Ctx& c, long n0, const bool tx_ok[2]) {
  using L = Cols<G, TAIL>;
  constexpr int NZ = L::NZ;
  constexpr bool HY = L::HY;
  __m512 acc[T][NZ > 0 ? NZ : 1];
  __m256 accy[T];
  const __m256 ymin = _mm512_castps512_ps256(c.vmin), ymax = _mm512_castps512_ps256(c.vmax);
#pragma GCC unroll 16
  for (int t = 0; t < T; ++t) {
    const float* src = c.accumulate ? c.orow + static_cast<size_t>(2 * (n0 + t) + c.px) * c.Co : c.bias;
#pragma GCC unroll 4
    for (int j = 0; j < NZ; ++j) acc[t][j] = L::loadz(c, src + 16 * j, j);
    if constexpr (HY) accy[t] = L::loady(c, src + 16 * NZ);
  }
  for (int ty = 0; ty < 2; ++ty) {
    if (c.iy[ty] < 0) continue;
    for (int tx = 0; tx < 2; ++tx) {
      if (!tx_ok[tx]) continue;  // tap outside the image: skipped
      const long ix0 = n0 + deconv_tap_offset(c.px, tx);
      const float* ip = c.in + (static_cast<size_t>(c.iy[ty]) * c.W + static_cast<size_t>(ix0)) * c.Ci;
      const float* wp = c.wph + static_cast<size_t>(ty * 2 + tx) * c.Ci * c.Co;
      for (size_t ci = 0; ci < c.Ci; ++ci, ++ip, wp += c.Co) {
        __m512 wv[NZ > 0 ? NZ : 1];
        __m256 wy;
#pragma GCC unroll 4
        for (int j = 0; j < NZ; ++j) wv[j] = L::loadz(c, wp + 16 * j, j);
        if constexpr (HY) wy = L::loady(c, wp + 16 * NZ);
#pragma GCC unroll 16
        for (int t = 0; t < T; ++t) {
          const __m512 xv = _mm512_set1_ps(ip[static_cast<size_t>(t) * c.Ci]);
#pragma GCC unroll 4
          for (int j = 0; j < NZ; ++j) acc[t][j] = _mm512_fmadd_ps(xv, wv[j], acc[t][j]);
          if constexpr (HY) accy[t] = _mm256_fmadd_ps(_mm512_castps512_ps256(xv), wy, accy[t]);
        }
      }
    }
  }
#pragma GCC unroll 16
  for (int t = 0; t < T; ++t) {
    float* o = c.orow + static_cast<size_t>(2 * (n0 + t) + c.px) * c.Co;
#pragma GCC unroll 4
    for (int j = 0; j < NZ; ++j)
      L::storez(c, o + 16 * j, j, _mm512_min_ps(_mm512_max_ps(acc[t][j], c.vmin), c.vmax));
    if constexpr (HY) L::storey(c, o + 16 * NZ, _mm256_min_ps(_mm256_max_ps(accy[t], ymin), ymax));
  }
}

template <int G, int T, bool TAIL>
void phase_row(const Ctx& c) {
  const long W = static_cast<long>(c.W);
  const bool all[2] = {true, true};
  // The pixel that loses a tap: n = 0 for px = 0 (tap tx=1 reads n-1),
  // n = W-1 for px = 1 (tap tx=0 reads n+1).
  long n_lo = 0, n_hi = W;
  if (c.px == 0) {
    const bool ok[2] = {true, false};
    block<G, 1, TAIL>(c, 0, ok);
    n_lo = 1;
  } else {
    const bool ok[2] = {false, true};
    block<G, 1, TAIL>(c, W - 1, ok);
    n_hi = W - 1;
  }
  long n = n_lo;
  for (; n + T <= n_hi; n += T) block<G, T, TAIL>(c, n, all);
  if constexpr (T > 4)
    for (; n + 4 <= n_hi; n += 4) block<G, 4, TAIL>(c, n, all);
  for (; n + 2 <= n_hi; n += 2) block<G, 2, TAIL>(c, n, all);
  for (; n < n_hi; ++n) block<G, 1, TAIL>(c, n, all);
}

template <bool TAIL>
void dispatch(const Ctx& c, int g) {
  switch (g) {
    case 1: return phase_row<1, 12, TAIL>(c);
    case 2: return phase_row<2, 12, TAIL>(c);
    case 3: return phase_row<3, 12, TAIL>(c);
    case 4: return phase_row<4, 12, TAIL>(c);
    case 5: return phase_row<5, 8, TAIL>(c);
    case 6: return phase_row<6, 6, TAIL>(c);
    case 7: return phase_row<7, 5, TAIL>(c);
    default: return phase_row<8, 5, TAIL>(c);
  }
}

}  // namespace

void f32_deconv_4x4s2__avx512f(const DeconvParams& p, const float* in, const float* w,
                               const float* bias, float* out, size_t oy0, size_t oy1) {
  // Up to 32 output channels a broadcast input feeds only 2 zmm FMAs here,
  // 4 ymm FMAs in the AVX2 kernel (same FMA work on Zen 4's 256-bit pipes,
  // half the broadcasts): measured 10-20% faster on every LitePose layer
  // with Co <= 32 (bench_kernels --arch XS/S/M).  The AVX-512 set only runs
  // on CPUs with AVX2+FMA, so the call is always legal.
  if (p.out_c <= 32) return f32_deconv_4x4s2__avx2(p, in, w, bias, out, oy0, oy1);
  const size_t Ci = p.in_c, Co = p.out_c, OW = 2 * p.in_w;
  const long H = static_cast<long>(p.in_h);
  Ctx c;
  c.in = in;
  c.W = p.in_w;
  c.Ci = Ci;
  c.Co = Co;
  c.accumulate = p.accumulate;
  c.vmin = _mm512_set1_ps(p.min);
  c.vmax = _mm512_set1_ps(p.max);
  for (size_t oy = oy0; oy < oy1; ++oy) {
    const int py = static_cast<int>(oy & 1);
    const long m = static_cast<long>(oy >> 1);
    for (int ty = 0; ty < 2; ++ty) {
      const long iy = m + deconv_tap_offset(py, ty);
      c.iy[ty] = iy >= 0 && iy < H ? iy : -1;
    }
    for (size_t co0 = 0; co0 < Co; co0 += 64) {
      const size_t cb = std::min<size_t>(64, Co - co0);
      const int g = static_cast<int>((cb + 7) / 8);  // groups of 8 channels
      const bool tail = cb % 8 != 0;
      const size_t rz = cb - 16 * ((cb - 1) / 16);   // lanes of the last zmm
      c.zlast = lane_mask(rz);
      c.ylast = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(cb - 8 * (g - 1))),
                                   _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
      c.bias = bias ? bias + co0 : nullptr;
      c.orow = out + oy * OW * Co + co0;
      for (int px = 0; px < 2; ++px) {
        c.px = px;
        c.wph = w + static_cast<size_t>(py * 2 + px) * 4 * Ci * Co + co0;
        if (tail) dispatch<true>(c, g);
        else dispatch<false>(c, g);
      }
    }
  }
}

}  // namespace litepose::kernels
