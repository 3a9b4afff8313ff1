// f32_dwconv_kxk__scalar: portable depthwise convolution (any k, stride).
//
// One output pixel at a time, channel innermost: the bias is written to the
// output pixel, then every in-bounds tap adds in[iy][ix][:] * w[tap][:] (a
// loop the compiler can vectorise over channels), then the clamp.  Taps that
// fall in the zero padding are skipped, so no padded copy of the input is
// needed.  Contract: kernels.h (DwConvFn).
#include <algorithm>

#include "kernels/f32-dwconv/f32-dwconv.h"

namespace litepose::kernels {

void f32_dwconv_kxk__scalar(const DwConvParams& p, const float* in, const float* w,
                            const float* bias, float* out, size_t oy0, size_t oy1) {
  const size_t C = p.channels, LD = dw_pixel_stride(p);
  const int k = p.kernel, s = p.stride, pad = p.pad;
  const long H = static_cast<long>(p.in_h), W = static_cast<long>(p.in_w);
  for (size_t oy = oy0; oy < oy1; ++oy) {
    for (size_t ox = 0; ox < p.out_w; ++ox) {
      float* o = out + (oy * p.out_w + ox) * LD;
      for (size_t c = 0; c < C; ++c) o[c] = bias[c];
      for (int ky = 0; ky < k; ++ky) {
        const long iy = static_cast<long>(oy) * s - pad + ky;
        if (iy < 0 || iy >= H) continue;
        for (int kx = 0; kx < k; ++kx) {
          const long ix = static_cast<long>(ox) * s - pad + kx;
          if (ix < 0 || ix >= W) continue;
          const float* ip = in + (static_cast<size_t>(iy) * p.in_w + static_cast<size_t>(ix)) * LD;
          const float* wp = w + static_cast<size_t>(ky * k + kx) * LD;
          for (size_t c = 0; c < C; ++c) o[c] += ip[c] * wp[c];
        }
      }
      for (size_t c = 0; c < C; ++c) o[c] = std::min(std::max(o[c], p.min), p.max);
    }
  }
}

}  // namespace litepose::kernels
