// f32_conv_kxk__avx2: dense kxk convolution over NHWC for few input
// channels (the stem: 3 -> 32, 3x3, stride 2), AVX2+FMA.  Also the
// AVX-512 set's stem kernel: 27 MACs per output make this layer small.
//
// Design
//   Vectorised over output channels (8 per ymm, up to 32 = 4 ymm per pass,
//   a last partial ymm via maskload/maskstore) and blocked over T output
//   pixels of a row.  Per (ky, kx, ci) the weight row w[ky][kx][ci][co0..]
//   is loaded once (NZ ymm) and each of the T input values is broadcast:
//
//     per (ky, kx, ci):  w0 w1 w2 w3                      (NZ ymm)
//       in(x0+0)[ci] -> acc[0][0..NZ)
//       in(x0+1)[ci] -> acc[1][0..NZ)     T*NZ accumulators: NZ = 4 -> T = 3,
//       in(x0+2)[ci] -> acc[2][0..NZ)     3 -> 4, 2 -> 6, 1 -> 8 (<= 16 ymm)
//
//   Kernel rows outside the image are skipped for the whole output row;
//   output pixels whose kernel crosses the left/right border run one at a
//   time with those taps skipped (no padded copy of the image).
// Contract: kernels.h (ConvFn); computes output rows [oy0, oy1) only.
#include <immintrin.h>

#include <algorithm>

#include "kernels/f32-conv/f32-conv.h"

namespace litepose::kernels {

namespace {

struct Ctx {
  const float* in;   // input image
  const float* w;    // weights at channel co0
  const float* bias; // at co0
  float* orow;       // output row, column 0, channel co0
  size_t W, Ci, Co;
  int K, S, pad, ky0, ky1;
  long iy0;          // input row of ky = 0
  __m256i last;
  __m256 vmin, vmax;
};

template <bool TAIL>
inline __m256 ld(const float* p, __m256i mk) {
  if constexpr (TAIL) return _mm256_maskload_ps(p, mk);
  else return _mm256_loadu_ps(p);
}

// Output pixels x0 .. x0+T-1; EDGE (T == 1 only): skip taps outside [0, W).
template <int NZ, int T, bool TAIL, bool EDGE>
inline void block(const Ctx& c, long x0) {
  __m256 acc[T][NZ];
#pragma GCC unroll 8
  for (int t = 0; t < T; ++t)
#pragma GCC unroll 4
    for (int j = 0; j < NZ; ++j)
      acc[t][j] = (TAIL && j == NZ - 1) ? ld<true>(c.bias + 8 * j, c.last) : ld<false>(c.bias + 8 * j, c.last);
  const long W = static_cast<long>(c.W);
  for (int ky = c.ky0; ky < c.ky1; ++ky) {
    const float* row = c.in + static_cast<size_t>(c.iy0 + ky) * c.W * c.Ci;
    for (int kx = 0; kx < c.K; ++kx) {
      const long ix = x0 * c.S - c.pad + kx;
      if (EDGE && (ix < 0 || ix >= W)) continue;  // tap skipped
      const float* ip = row + static_cast<size_t>(ix) * c.Ci;
      const float* wp = c.w + static_cast<size_t>(ky * c.K + kx) * c.Ci * c.Co;
      for (size_t ci = 0; ci < c.Ci; ++ci, ++ip, wp += c.Co) {
        __m256 wv[NZ];
#pragma GCC unroll 4
        for (int j = 0; j < NZ; ++j)
          wv[j] = (TAIL && j == NZ - 1) ? ld<true>(wp + 8 * j, c.last) : ld<false>(wp + 8 * j, c.last);
#pragma GCC unroll 8
        for (int t = 0; t < T; ++t) {
          const __m256 xv = _mm256_broadcast_ss(ip + static_cast<size_t>(t * c.S) * c.Ci);
#pragma GCC unroll 4
          for (int j = 0; j < NZ; ++j) acc[t][j] = _mm256_fmadd_ps(xv, wv[j], acc[t][j]);
        }
      }
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < T; ++t) {
    float* o = c.orow + static_cast<size_t>(x0 + t) * c.Co;
#pragma GCC unroll 4
    for (int j = 0; j < NZ; ++j) {
      const __m256 v = _mm256_min_ps(_mm256_max_ps(acc[t][j], c.vmin), c.vmax);
      if (TAIL && j == NZ - 1) _mm256_maskstore_ps(o + 8 * j, c.last, v);
      else _mm256_storeu_ps(o + 8 * j, v);
    }
  }
}

template <int NZ, int T, bool TAIL>
void row(const Ctx& c, long OW, long xi0, long xi1) {
  for (long x = 0; x < std::min(xi0, OW); ++x) block<NZ, 1, TAIL, true>(c, x);
  long x = xi0;
  for (; x + T <= xi1; x += T) block<NZ, T, TAIL, false>(c, x);
  for (; x < xi1; ++x) block<NZ, 1, TAIL, false>(c, x);
  for (x = std::max(xi0, xi1); x < OW; ++x) block<NZ, 1, TAIL, true>(c, x);
}

}  // namespace

void f32_conv_kxk__avx2(const ConvParams& p, const float* in, const float* w,
                        const float* bias, float* out, size_t oy0, size_t oy1) {
  const long H = static_cast<long>(p.in_h), W = static_cast<long>(p.in_w);
  const long OW = static_cast<long>(p.out_w), K = p.kernel, S = p.stride, pad = p.pad;
  // Output columns whose taps are all inside the image: [xi0, xi1).
  const long xi0 = std::min(OW, (pad + S - 1) / S);
  const long xi1 = std::max<long>(xi0, std::min<long>(OW, W - K + pad >= 0 ? (W - K + pad) / S + 1 : 0));
  Ctx c;
  c.in = in;
  c.W = p.in_w;
  c.Ci = p.in_c;
  c.Co = p.out_c;
  c.K = p.kernel;
  c.S = p.stride;
  c.pad = p.pad;
  c.vmin = _mm256_set1_ps(p.min);
  c.vmax = _mm256_set1_ps(p.max);
  for (size_t oy = oy0; oy < oy1; ++oy) {
    c.iy0 = static_cast<long>(oy) * S - pad;
    c.ky0 = static_cast<int>(std::max<long>(0, -c.iy0));
    c.ky1 = static_cast<int>(std::min<long>(K, H - c.iy0));
    for (size_t co0 = 0; co0 < p.out_c; co0 += 32) {
      const size_t cb = std::min<size_t>(32, p.out_c - co0);
      const int nz = static_cast<int>((cb + 7) / 8);
      const size_t rem = cb - 8 * static_cast<size_t>(nz - 1);
      const bool tail = rem < 8;
      c.last = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(rem)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
      c.w = w + co0;
      c.bias = bias + co0;
      c.orow = out + oy * p.out_w * p.out_c + co0;
      switch (nz * 2 + tail) {
        case 2: row<1, 8, false>(c, OW, xi0, xi1); break;
        case 3: row<1, 8, true>(c, OW, xi0, xi1); break;
        case 4: row<2, 6, false>(c, OW, xi0, xi1); break;
        case 5: row<2, 6, true>(c, OW, xi0, xi1); break;
        case 6: row<3, 4, false>(c, OW, xi0, xi1); break;
        case 7: row<3, 4, true>(c, OW, xi0, xi1); break;
        case 8: row<4, 3, false>(c, OW, xi0, xi1); break;
        default: row<4, 3, true>(c, OW, xi0, xi1); break;
      }
    }
  }
}

}  // namespace litepose::kernels
