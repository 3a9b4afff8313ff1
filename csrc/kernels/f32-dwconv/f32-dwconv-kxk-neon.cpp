// f32_dwconv_kxk__neon: kxk depthwise convolution over NHWC, armv8-a ASIMD.
//
// Design
//   Vectorised over channels, 4 per q register.  For one output row the row
//   is cut into tiles of T = 8 output pixels; for each tile, every block of 4
//   channels keeps T accumulators in registers.  Per kernel row ky the K
//   weights of the block are loaded once and every input pixel the tile
//   needs is loaded ONCE and fed to all the taps that use it (input reuse
//   across neighbouring outputs):
//
//     stride 1, K = 7, one kernel row (x = input pixel j of the tile):
//       w0..w6                      7 q  (weights W[ky][0..6], 4 channels)
//       j:  0    1    2  ...  13    14 input loads, 1 q live at a time
//       acc0 += x0*w0 + x1*w1 + ... + x6*w6
//       acc1 +=         x1*w0 + ... + x6*w5 + x7*w6
//        ...                                        8 q accumulators
//       acc7 +=                 x7*w0 + ... + x13*w6
//     = 7 + 14 loads for 56 FMLA (224 MACs): ~0.36 instructions per MAC
//     (stride 2: 21 loads, ~0.40).  8 independent FMA chains.
//
//   K and stride are template parameters for the LitePose shapes (K = 3, 5,
//   7; stride 1, 2), so the tap loops unroll completely and the "which
//   accumulator does input j feed through tap kx" test is resolved at
//   compile time.  Other K/stride go to the scalar kernel.
//
//   Borders without a padded copy: kernel rows outside the image are skipped
//   for the whole output row; tiles that touch the left/right border or the
//   row end test each input column once (one compare per input pixel, not
//   per tap) and skip the ones outside; outputs past the row end are not
//   stored.  Channel tail (C % 4): the same tile with lane-wise partial
//   loads/stores, so nothing past a pixel's C channels is read or written.
// Contract: kernels.h (DwConvFn); computes output rows [oy0, oy1) only.
#include <arm_neon.h>

#include <algorithm>

#include "kernels/f32-dwconv/f32-dwconv.h"
#include "kernels/neon-partial.h"

namespace litepose::kernels {

namespace {

constexpr int kT = 8;

template <bool TAIL>
inline float32x4_t load(const float* p, size_t n) {
  if constexpr (TAIL) return load_partial(p, n);
  else return vld1q_f32(p);
}

struct Ctx {
  const float* in;
  const float* w;
  const float* bias;
  float* out;   // output row oy, pixel 0, channel 0
  size_t C;     // floats per pixel (dw_pixel_stride)
  long W, OW, pad;
  float32x4_t vmin, vmax;
};

// T output pixels [ox0, ox0 + tb) x channels [c, c + 4) (or c + rem, TAIL)
// of one output row whose input rows are iy0 + [ky0, ky1).
template <int K, int S, bool EDGE, bool TAIL>
inline void tile(const Ctx& g, long iy0, int ky0, int ky1, long ox0, int tb, size_t c, size_t rem) {
  constexpr int NI = (kT - 1) * S + K;  // input pixels the tile reads per row
  const size_t C = g.C;
  float32x4_t acc[kT];
  const float32x4_t b = load<TAIL>(g.bias + c, rem);
#pragma GCC unroll 8
  for (int t = 0; t < kT; ++t) acc[t] = b;
  const long ix0 = ox0 * S - g.pad;
  // Offsets (floats) of input pixel j and of tap kx from the tile's row
  // start: loop invariant, so every load below is one `ldr q, [row, off]`.
  // Interior tiles (ix0 >= 0) start the row at pixel ix0 and the weight
  // offsets are a subset of the input ones; border tiles use signed ones.
  const long base = EDGE ? 0 : ix0;
  long off[NI];
#pragma GCC unroll 32
  for (int j = 0; j < NI; ++j) off[j] = (EDGE ? ix0 + j : j) * static_cast<long>(C);
  const float* row = g.in + (static_cast<size_t>(iy0 + ky0) * static_cast<size_t>(g.W) + base) * C + c;
  const float* wr = g.w + static_cast<size_t>(ky0 * K) * C + c;
  const size_t row_step = static_cast<size_t>(g.W) * C, w_step = static_cast<size_t>(K) * C;
  for (int ky = ky0; ky < ky1; ++ky, row += row_step, wr += w_step) {
    float32x4_t wv[K];
#pragma GCC unroll 8
    for (int kx = 0; kx < K; ++kx)
      wv[kx] = load<TAIL>(wr + (EDGE ? static_cast<long>(kx) * static_cast<long>(C) : off[kx]), rem);
#pragma GCC unroll 32
    for (int j = 0; j < NI; ++j) {
      if (EDGE && (ix0 + j < 0 || ix0 + j >= g.W)) continue;
      const float32x4_t x = load<TAIL>(row + off[j], rem);
#pragma GCC unroll 8
      for (int kx = 0; kx < K; ++kx) {
        const int d = j - kx;  // output t = d / S reads input j through tap kx
        if (d < 0 || d % S != 0 || d / S >= kT) continue;
        acc[d / S] = vfmaq_f32(acc[d / S], x, wv[kx]);
      }
    }
  }
  float* o = g.out + static_cast<size_t>(ox0) * C + c;
#pragma GCC unroll 8
  for (int t = 0; t < kT; ++t) {
    if (EDGE && t >= tb) break;
    const float32x4_t v = vminq_f32(vmaxq_f32(acc[t], g.vmin), g.vmax);
    if constexpr (TAIL) store_partial(o + static_cast<size_t>(t) * C, v, rem);
    else vst1q_f32(o + static_cast<size_t>(t) * C, v);
  }
}

template <int K, int S>
void run(const DwConvParams& p, const float* in, const float* w, const float* bias, float* out,
         size_t oy0, size_t oy1) {
  const size_t C = p.channels, C4 = C & ~size_t(3), rem = C - C4, LD = dw_pixel_stride(p);
  const long H = static_cast<long>(p.in_h), W = static_cast<long>(p.in_w);
  const long OW = static_cast<long>(p.out_w), pad = p.pad;
  // Output columns whose K taps are all inside the image: [xi0, xi1).
  const long xi0 = (pad + S - 1) / S;
  const long xi1 = std::max<long>(xi0, std::min<long>(OW, W - K + pad >= 0 ? (W - K + pad) / S + 1 : 0));
  Ctx g{in, w, bias, nullptr, LD, W, OW, pad, vdupq_n_f32(p.min), vdupq_n_f32(p.max)};
  for (size_t oy = oy0; oy < oy1; ++oy) {
    const long iy0 = static_cast<long>(oy) * S - pad;
    const int ky0 = static_cast<int>(std::max<long>(0, -iy0));
    const int ky1 = static_cast<int>(std::min<long>(K, H - iy0));
    g.out = out + oy * p.out_w * LD;
    for (long x0 = 0; x0 < OW; x0 += kT) {
      const int tb = static_cast<int>(std::min<long>(kT, OW - x0));
      if (tb == kT && x0 >= xi0 && x0 + kT <= xi1) {
        for (size_t c = 0; c < C4; c += 4) tile<K, S, false, false>(g, iy0, ky0, ky1, x0, tb, c, 4);
        if (rem) tile<K, S, false, true>(g, iy0, ky0, ky1, x0, tb, C4, rem);
      } else {
        for (size_t c = 0; c < C4; c += 4) tile<K, S, true, false>(g, iy0, ky0, ky1, x0, tb, c, 4);
        if (rem) tile<K, S, true, true>(g, iy0, ky0, ky1, x0, tb, C4, rem);
      }
    }
  }
}

}  // namespace

void f32_dwconv_kxk__neon(const DwConvParams& p, const float* in, const float* w,
                          const float* bias, float* out, size_t oy0, size_t oy1) {
#define LP_DW(K, S) \
  if (p.kernel == K && p.stride == S) return run<K, S>(p, in, w, bias, out, oy0, oy1);
  LP_DW(7, 1) LP_DW(7, 2) LP_DW(5, 1) LP_DW(5, 2) LP_DW(3, 1) LP_DW(3, 2)
#undef LP_DW
  f32_dwconv_kxk__scalar(p, in, w, bias, out, oy0, oy1);
}

}  // namespace litepose::kernels
