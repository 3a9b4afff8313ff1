// f32_deconv_4x4s2__scalar: portable 4x4 stride-2 transposed convolution.
//
// Every output pixel (2m+py, 2n+px) is a 2x2 convolution of the input around
// (m, n) — the phase decomposition in kernels.h — so no zero-inserted
// upsampled tensor is ever built and no multiply hits a zero.  The output
// row is accumulated in place (bias first, or what is there when
// p.accumulate), which lets the head add its "raw" branch onto the "refined"
// branch without a temporary.  Contract: kernels.h (DeconvFn).
#include <algorithm>

#include "kernels/f32-deconv/f32-deconv.h"

namespace litepose::kernels {

void f32_deconv_4x4s2__scalar(const DeconvParams& p, const float* in, const float* w,
                              const float* bias, float* out, size_t oy0, size_t oy1) {
  const size_t Ci = p.in_c, Co = p.out_c, OW = 2 * p.in_w;
  const long H = static_cast<long>(p.in_h), W = static_cast<long>(p.in_w);
  for (size_t oy = oy0; oy < oy1; ++oy) {
    const int py = static_cast<int>(oy & 1);
    const long m = static_cast<long>(oy >> 1);
    for (size_t ox = 0; ox < OW; ++ox) {
      const int px = static_cast<int>(ox & 1);
      const long n = static_cast<long>(ox >> 1);
      float* o = out + (oy * OW + ox) * Co;
      if (!p.accumulate)
        for (size_t c = 0; c < Co; ++c) o[c] = bias[c];
      const float* wph = w + static_cast<size_t>(py * 2 + px) * 4 * Ci * Co;
      for (int ty = 0; ty < 2; ++ty) {
        const long iy = m + deconv_tap_offset(py, ty);
        if (iy < 0 || iy >= H) continue;
        for (int tx = 0; tx < 2; ++tx) {
          const long ix = n + deconv_tap_offset(px, tx);
          if (ix < 0 || ix >= W) continue;
          const float* ip = in + (static_cast<size_t>(iy) * p.in_w + static_cast<size_t>(ix)) * Ci;
          const float* wt = wph + static_cast<size_t>(ty * 2 + tx) * Ci * Co;
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
