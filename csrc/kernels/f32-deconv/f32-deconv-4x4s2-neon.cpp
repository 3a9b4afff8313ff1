// f32_deconv_4x4s2__neon: 4x4 stride-2 padding-1 transposed convolution,
// armv8-a ASIMD.
//
// Design
//   Phase decomposition (kernels.h): output pixel (2m+py, 2n+px) is a 2x2
//   convolution of the input around (m, n) with the weights of phase
//   (py, px).  For one output row (fixed py, m) and one px, the outputs
//   n = 0..W-1 are a small GEMM: rows = output pixels (stride 2*Co apart),
//   reduction = (valid taps) x Ci, columns = Co, the weights w[ph][tap] being
//   a row-major Ci x Co matrix.  It runs with the gemm kernel's register
//   tile: 8 output pixels x 8 output channels, A read 4 input channels at a
//   time and used by lane (vfmaq_laneq_f32):
//
//     ci step:  w[tap][ci][c:c+4]  w[tap][ci][c+4:c+8]
//     pix0 ->   acc00              acc01
//       ...      ...                ...            16 q accumulators
//     pix7 ->   acc70              acc71           + 8 A quads + 2 weights
//
//   ~0.31 instructions per MAC.  Output channels go in blocks of 8, then 4,
//   then a lane-wise partial block (Co % 4), so nothing past a row of Co
//   weights or an output pixel is read or written.
//
//   Taps: the kernel rows valid for the output row are fixed per row; of the
//   column taps only pixel n = 0 (px = 0, tap dx = -1) or n = W-1 (px = 1,
//   dx = +1) loses one, so those two pixels run a 1-pixel tile with their
//   own tap list and all others the 8-pixel tile (the last, short one
//   re-reads its last valid pixel and does not store the extra rows).
//
//   The accumulators start from the bias, or from what the output holds when
//   p.accumulate (the head adds its second branch in place).
// Contract: kernels.h (DeconvFn); computes output rows [oy0, oy1) only.
#include <arm_neon.h>

#include <algorithm>
#include <type_traits>

#include "kernels/f32-deconv/f32-deconv.h"
#include "kernels/neon-partial.h"

namespace litepose::kernels {

namespace {

constexpr size_t kMR = 8;

struct Tap {
  const float* in;  // input pixel feeding output pixel 0 of the tile, channel 0
  const float* w;   // Ci x Co weights of this (phase, tap)
};

struct Tile {
  const Tap* taps;
  int ntaps;
  size_t pix_off;   // taps[].in + pix_off: input of the tile's pixel 0
  size_t mr;        // valid output pixels (<= MR)
  size_t Ci, Co;
  float* out;       // output pixel 0 of the tile, channel 0
  size_t o_stride;  // floats between the tile's output pixels (2 * Co)
  const float* bias;
  bool accumulate;
  float32x4_t vmin, vmax;
};

template <bool TAIL, int NV>
inline float32x4_t load_w(const float* p, int v, size_t rem) {
  if (TAIL && v == NV - 1) return load_partial(p, rem);
  return vld1q_f32(p);
}

// Input channel ci + Q (lane Q of the 4 held per pixel) of one tap.
template <size_t MR, int NV, bool TAIL, int Q>
inline void step(float32x4_t (*acc)[NV], const float32x4_t* av, const float* w, size_t Co, size_t rem) {
  float32x4_t wv[NV];
#pragma GCC unroll 2
  for (int v = 0; v < NV; ++v) wv[v] = load_w<TAIL, NV>(w + Q * Co + 4 * v, v, rem);
#pragma GCC unroll 8
  for (size_t i = 0; i < MR; ++i)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) acc[i][v] = vfmaq_laneq_f32(acc[i][v], wv[v], av[i], Q);
}

// Output channels [c, c + 4*NV) (the last vector only `rem` lanes if TAIL).
template <size_t MR, int NV, bool TAIL>
inline void tile(const Tile& g, size_t c, size_t rem) {
  auto ld = [rem](const float* p, int v) { return load_w<TAIL, NV>(p, v, rem); };
  float32x4_t acc[MR][NV];
#pragma GCC unroll 8
  for (size_t i = 0; i < MR; ++i) {
    const size_t ii = std::min(i, g.mr - 1);
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v)
      acc[i][v] = g.accumulate ? ld(g.out + ii * g.o_stride + c + 4 * v, v) : ld(g.bias + c + 4 * v, v);
  }
  const size_t Ci = g.Ci, Co = g.Co;
  for (int t = 0; t < g.ntaps; ++t) {
    const float* ap[MR];
#pragma GCC unroll 8
    for (size_t i = 0; i < MR; ++i) ap[i] = g.taps[t].in + g.pix_off + std::min(i, g.mr - 1) * Ci;
    const float* w = g.taps[t].w + c;
    size_t ci = 0;
    for (; ci + 4 <= Ci; ci += 4, w += 4 * Co) {
      float32x4_t av[MR];
#pragma GCC unroll 8
      for (size_t i = 0; i < MR; ++i) av[i] = vld1q_f32(ap[i] + ci);
      step<MR, NV, TAIL, 0>(acc, av, w, Co, rem);
      step<MR, NV, TAIL, 1>(acc, av, w, Co, rem);
      step<MR, NV, TAIL, 2>(acc, av, w, Co, rem);
      step<MR, NV, TAIL, 3>(acc, av, w, Co, rem);
    }
    for (; ci < Ci; ++ci, w += Co) {
      float32x4_t wv[NV];
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) wv[v] = ld(w + 4 * v, v);
#pragma GCC unroll 8
      for (size_t i = 0; i < MR; ++i) {
        const float s = ap[i][ci];
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v) acc[i][v] = vfmaq_n_f32(acc[i][v], wv[v], s);
      }
    }
  }
#pragma GCC unroll 8
  for (size_t i = 0; i < MR; ++i) {
    if (i >= g.mr) break;
    float* o = g.out + i * g.o_stride + c;
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) {
      const float32x4_t x = vminq_f32(vmaxq_f32(acc[i][v], g.vmin), g.vmax);
      if (TAIL && v == NV - 1) store_partial(o + 4 * v, x, rem);
      else vst1q_f32(o + 4 * v, x);
    }
  }
}

template <size_t MR>
void tile_all_channels(const Tile& g) {
  const size_t Co = g.Co;
  size_t c = 0;
  for (; c + 8 <= Co; c += 8) tile<MR, 2, false>(g, c, 4);
  if (c + 4 <= Co) {
    tile<MR, 1, false>(g, c, 4);
    c += 4;
  }
  if (c < Co) tile<MR, 1, true>(g, c, Co - c);
}

}  // namespace

void f32_deconv_4x4s2__neon(const DeconvParams& p, const float* in, const float* w,
                            const float* bias, float* out, size_t oy0, size_t oy1) {
  const size_t Ci = p.in_c, Co = p.out_c, W = p.in_w, OW = 2 * W;
  const long H = static_cast<long>(p.in_h);
  Tile g;
  g.Ci = Ci;
  g.Co = Co;
  g.o_stride = 2 * Co;
  g.bias = bias;
  g.accumulate = p.accumulate;
  g.vmin = vdupq_n_f32(p.min);
  g.vmax = vdupq_n_f32(p.max);
  for (size_t oy = oy0; oy < oy1; ++oy) {
    const int py = static_cast<int>(oy & 1);
    const long m = static_cast<long>(oy >> 1);
    for (int px = 0; px < 2; ++px) {
      const float* wph = w + static_cast<size_t>(py * 2 + px) * 4 * Ci * Co;
      float* orow = out + (oy * OW + static_cast<size_t>(px)) * Co;  // output pixel (oy, px)
      // Valid taps for a pixel range [n0, n1): kernel row in range, column
      // tap in range for every pixel of it.
      auto run = [&](size_t n0, size_t n1, auto mr_tag) {
        constexpr size_t MR = decltype(mr_tag)::value;
        Tap taps[4];
        int nt = 0;
        for (int ty = 0; ty < 2; ++ty) {
          const long iy = m + deconv_tap_offset(py, ty);
          if (iy < 0 || iy >= H) continue;
          for (int tx = 0; tx < 2; ++tx) {
            const long dx = deconv_tap_offset(px, tx);
            if (static_cast<long>(n0) + dx < 0 || static_cast<long>(n1) - 1 + dx >= static_cast<long>(W))
              continue;
            taps[nt].in = in + (static_cast<size_t>(iy) * W + static_cast<size_t>(static_cast<long>(n0) + dx)) * Ci;
            taps[nt].w = wph + static_cast<size_t>(ty * 2 + tx) * Ci * Co;
            ++nt;
          }
        }
        g.taps = taps;
        g.ntaps = nt;
        for (size_t n = n0; n < n1; n += MR) {
          g.pix_off = (n - n0) * Ci;
          g.mr = std::min(MR, n1 - n);
          g.out = orow + n * 2 * Co;
          tile_all_channels<MR>(g);
        }
      };
      const std::integral_constant<size_t, 1> One;
      const std::integral_constant<size_t, kMR> Eight;
      // Pixel that loses a column tap: n = 0 for px = 0, n = W-1 for px = 1.
      if (px == 0) {
        run(0, 1, One);
        if (W > 1) run(1, W, Eight);
      } else {
        if (W > 1) run(0, W - 1, Eight);
        run(W - 1, W, One);
      }
    }
  }
}

}  // namespace litepose::kernels
