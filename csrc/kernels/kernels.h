// Microkernel contracts for litepose (f32).
//
// Every kernel here is a plain function over raw pointers: it allocates
// nothing, starts no threads and touches only the memory its contract names.
// The ops layer (csrc/ops/) pads nothing, splits work into row ranges across
// threads and picks one implementation per family for the running CPU
// (csrc/ops/dispatch.cpp).
//
// Layout glossary
//   NHWC   activations are [H][W][C], channel innermost, rows contiguous.
//   M      number of pixels (rows of a GEMM), N output channels, K input
//          channels (reduction length).
//   nr     output-channel panel width of a packed weight blob.
//
// Packed 1x1 (GEMM) weights, produced by pack_gemm_weights() (ops/pack.cpp)
// for the panel width nr the chosen kernel declares:
//   for each panel p of nr output channels (last one zero padded):
//     float bias[nr]; float w[K][nr];
//   so a panel is (K + 1) * nr floats and panel p starts at p*(K+1)*nr.
//
// Packed depthwise weights: float w[k*k][C] (tap-major, channel innermost),
// bias float[C] separately.
//
// Packed 4x4 stride-2 deconvolution weights (padding 1, output 2H x 2W):
//   output pixel (2*m + py, 2*n + px) is a 2x2 convolution of the input, the
//   "phase" (py, px).  For each phase ph = 2*py + px, each tap t = 2*ty + tx,
//   input pixel (m + dy(py,ty), n + dx(px,tx)) with
//     dy(0, 0) = 0 (ky = 1), dy(0, 1) = -1 (ky = 3),
//     dy(1, 0) = +1 (ky = 0), dy(1, 1) = 0 (ky = 2)   (same for x)
//   weights are float w[4 phases][4 taps][Cin][Cout].  Taps that fall outside
//   the input contribute nothing.
//
// Packed dense kxk conv weights (stem): float w[k][k][Cin][Cout], bias[Cout].
//
// Activation: every output is clamped to [min, max] after bias (+ residual);
// pass -INF/+INF for none, 0/+INF for ReLU, 0/6 for ReLU6.
#pragma once

#include <cstddef>

namespace litepose::kernels {

// ---- f32-gemm: 1x1 convolution --------------------------------------------
// c[i][j] = clamp(bias[j] + sum_k a[i][k] * w[k][j] + (r ? r[i][j] : 0))
// for i < m, j < n.  Strides are in floats.  May read the packed weights up to
// the end of the last (padded) panel; reads no more than k floats of each a
// row, writes exactly n floats of each c row.  c may alias r (in place
// residual) only when c_stride == r_stride.
using GemmFn = void (*)(size_t m, size_t n, size_t k, const float* a, size_t a_stride,
                        const float* packed_w, float* c, size_t c_stride, const float* r,
                        size_t r_stride, float min, float max);

// ---- f32-dwconv: kxk depthwise convolution, zero padding `pad` ------------
struct DwConvParams {
  size_t in_h, in_w, channels;   // input [in_h][in_w][channels]
  size_t out_h, out_w;           // output [out_h][out_w][channels]
  int kernel, stride, pad;
  float min, max;
  // Floats from one pixel to the next in `in` and `out`, and from one tap
  // to the next in `w` (0: `channels`).  Larger than `channels`, a call
  // computes the channel slice [c0, c0 + channels) of tensors and weights
  // that have pixel_stride channels, given in, w, bias and out offset by c0;
  // nothing outside the slice is read or written.
  size_t pixel_stride = 0;
};
inline size_t dw_pixel_stride(const DwConvParams& p) { return p.pixel_stride ? p.pixel_stride : p.channels; }
// Computes output rows [oy0, oy1).
using DwConvFn = void (*)(const DwConvParams& p, const float* in, const float* w,
                          const float* bias, float* out, size_t oy0, size_t oy1);

// ---- f32-deconv: 4x4 stride-2 padding-1 transposed convolution -------------
struct DeconvParams {
  size_t in_h, in_w, in_c, out_c;  // output is [2*in_h][2*in_w][out_c]
  bool accumulate;                 // add to what `out` holds instead of bias
  float min, max;
};
// Computes output rows [oy0, oy1) (output-resolution rows).
// bias may be null when accumulate is true.
using DeconvFn = void (*)(const DeconvParams& p, const float* in, const float* w,
                          const float* bias, float* out, size_t oy0, size_t oy1);

// ---- f32-conv: dense kxk convolution for few input channels (the stem) ----
struct ConvParams {
  size_t in_h, in_w, in_c, out_c, out_h, out_w;
  int kernel, stride, pad;
  float min, max;
};
using ConvFn = void (*)(const ConvParams& p, const float* in, const float* w,
                        const float* bias, float* out, size_t oy0, size_t oy1);

}  // namespace litepose::kernels
