// f32_conv_kxk__scalar: portable dense convolution over NHWC.
//
// Output pixel at a time; for each in-bounds tap and input channel, one
// broadcast of the input value times a contiguous row of out_c weights
// (layout w[k][k][in_c][out_c], kernels.h).  Used for the stem, whose three
// input channels make a GEMM formulation wasteful.
#include <algorithm>

#include "kernels/f32-conv/f32-conv.h"

namespace litepose::kernels {

void f32_conv_kxk__scalar(const ConvParams& p, const float* in, const float* w,
                          const float* bias, float* out, size_t oy0, size_t oy1) {
  const size_t Ci = p.in_c, Co = p.out_c;
  const int k = p.kernel;
  const long H = static_cast<long>(p.in_h), W = static_cast<long>(p.in_w);
  for (size_t oy = oy0; oy < oy1; ++oy) {
    for (size_t ox = 0; ox < p.out_w; ++ox) {
      float* o = out + (oy * p.out_w + ox) * Co;
      for (size_t c = 0; c < Co; ++c) o[c] = bias[c];
      for (int ky = 0; ky < k; ++ky) {
        const long iy = static_cast<long>(oy) * p.stride - p.pad + ky;
        if (iy < 0 || iy >= H) continue;
        for (int kx = 0; kx < k; ++kx) {
          const long ix = static_cast<long>(ox) * p.stride - p.pad + kx;
          if (ix < 0 || ix >= W) continue;
          const float* ip = in + (static_cast<size_t>(iy) * p.in_w + static_cast<size_t>(ix)) * Ci;
          const float* wt = w + static_cast<size_t>(ky * k + kx) * Ci * Co;
          for (size_t ci = 0; ci < Ci; ++ci) {
            const float v = ip[ci];
            const float* wr = wt + ci * Co;
            for (size_t c = 0; c < Co; ++c) o[c] += v * wr[c];
          }
        }
      }
      for (size_t c = 0; c < Co; ++c) o[c] = std::min(std::max(o[c], p.min), p.max);
    }
  }
}

}  // namespace litepose::kernels
