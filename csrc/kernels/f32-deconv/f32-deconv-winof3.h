// The f32-deconv-winof3 family: the 4x4 stride-2 deconvolution of the head
// (both of its inputs, refined and raw, summed) through Winograd F(3x3, 2x2)
// per output phase.
//
// Every output phase (py, px) of the deconvolution is a 2x2 correlation of
// the input (kernels.h): phase output (m, n) = sum over a, b in {0, 1} of
// in(m - 1 + py + a, n - 1 + px + b) * g[a][b] with g[a][b] the packed tap
// (ty, tx) = (1 - a, 1 - b).  F(3, 2) computes 3 outputs of a 2-tap
// correlation from 4 inputs with 4 multiplies instead of 6 (points 0, 1,
// -1, infinity):
//
//   B^T = | 1  0 -1  0 |   G = | 1    0   |   A^T = | 1  1  1  0 |
//         | 0  1  1  0 |       | 1/2  1/2 |         | 0  1 -1  0 |
//         | 0 -1  1  0 |       | 1/2 -1/2 |         | 0  1  1  1 |
//         | 0 -1  0  1 |       | 0    1   |
//
// nested in y and x: a tile of 3x3 phase outputs reads a 4x4 input window,
// V = B^T d B, U = G g G^T (at load, ops/deconv_pair.cpp), and
// Y = A^T (sum over ci of U * V) A.  The sum over input channels is a GEMM
// per window position xi (16 of them): [tiles x K] x [K x Co], K = Ci of
// both inputs; 16 x K x Co multiplies per 9 x 4 x K x Co direct ones
// (2.25x fewer).  Every transform entry is 0, +-1 or +-1/2, so the rounding
// stays close to the direct sum's.
//
// These kernels are the transforms around that GEMM (run by the ISA's GEMM
// kernel, ops/deconv_pair.cpp drives them):
//   in:  one phase, one tile row (phase outputs m0 .. m0+2), every tile of
//        the row: v[tile][xi][K] (16 K floats per tile: the stores of
//        one tile are one contiguous block), the refined input's channels first, then
//        the raw one's; input outside the image reads as zero.
//   out: m[xi][..][Co] of that phase, xs floats from one position xi to
//        the next, tile t at m + (t - t0) Co -> Y, + bias, clamp, stored to the
//        NHWC output (2H x 2W x Co) at rows 2(m0 + i) + py, columns
//        2(3 tile + j) + px; rows outside [oy0, oy1) and columns past the
//        image go to `sink` (co floats of scratch) instead.
#pragma once

#include <cstddef>

namespace litepose::kernels {

struct DeconvWinoParams {
  size_t in_h, in_w;      // both inputs [in_h][in_w][c]
  size_t ci0, ci1, co;    // refined and raw input channels, output channels
  float min, max;
};

// Tiles per tile row: ceil(in_w / 3).
constexpr size_t deconv_wino_tiles(size_t in_w) { return (in_w + 2) / 3; }

// in0/in1: the two inputs (in1 null when ci1 == 0).  zeros: at least
// max(ci0, ci1) zero floats.  ph = 2 py + px.  m0: first phase output row
// of the tile row (any value; rows outside the image read zeros).
using DeconvWinoInFn = void (*)(const DeconvWinoParams& p, const float* in0, const float* in1,
                                const float* zeros, int ph, long m0, size_t t0, size_t t1, float* v);
// m0 >= 0.
using DeconvWinoOutFn = void (*)(const DeconvWinoParams& p, const float* m, size_t xs, const float* bias, int ph,
                                 long m0, size_t t0, size_t t1, size_t oy0, size_t oy1, float* out, float* sink);

void f32_deconv_winof3_in__scalar(const DeconvWinoParams& p, const float* in0, const float* in1,
                                  const float* zeros, int ph, long m0, size_t t0, size_t t1, float* v);
void f32_deconv_winof3_out__scalar(const DeconvWinoParams& p, const float* m, size_t xs, const float* bias,
                                   int ph, long m0, size_t t0, size_t t1, size_t oy0, size_t oy1, float* out,
                                   float* sink);
#if defined(__x86_64__) || defined(_M_X64)
void f32_deconv_winof3_in__avx2(const DeconvWinoParams& p, const float* in0, const float* in1,
                                const float* zeros, int ph, long m0, size_t t0, size_t t1, float* v);
void f32_deconv_winof3_out__avx2(const DeconvWinoParams& p, const float* m, size_t xs, const float* bias,
                                 int ph, long m0, size_t t0, size_t t1, size_t oy0, size_t oy1, float* out,
                                 float* sink);
void f32_deconv_winof3_in__avx512f(const DeconvWinoParams& p, const float* in0, const float* in1,
                                   const float* zeros, int ph, long m0, size_t t0, size_t t1, float* v);
void f32_deconv_winof3_out__avx512f(const DeconvWinoParams& p, const float* m, size_t xs, const float* bias,
                                    int ph, long m0, size_t t0, size_t t1, size_t oy0, size_t oy1, float* out,
                                    float* sink);
#endif
#if defined(__aarch64__)
void f32_deconv_winof3_in__neon(const DeconvWinoParams& p, const float* in0, const float* in1,
                                const float* zeros, int ph, long m0, size_t t0, size_t t1, float* v);
void f32_deconv_winof3_out__neon(const DeconvWinoParams& p, const float* m, size_t xs, const float* bias,
                                 int ph, long m0, size_t t0, size_t t1, size_t oy0, size_t oy1, float* out,
                                 float* sink);
#endif

}  // namespace litepose::kernels
