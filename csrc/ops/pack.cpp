// Weight packing into the kernel layouts documented in kernels/kernels.h.
#include "ops/pack.h"

#include "kernels/f32-deconv/f32-deconv.h"

namespace litepose::ops {

AlignedBuffer pack_gemm_weights(const float* w, const float* bias, size_t n, size_t k, size_t nr) {
  const size_t panels = (n + nr - 1) / nr;
  AlignedBuffer out(panels * (k + 1) * nr);  // zeroed: padding columns stay 0
  float* o = out.data();
  for (size_t p = 0; p < panels; ++p) {
    float* panel = o + p * (k + 1) * nr;
    for (size_t j = 0; j < nr && p * nr + j < n; ++j) {
      const size_t col = p * nr + j;
      panel[j] = bias ? bias[col] : 0.f;
      for (size_t kk = 0; kk < k; ++kk) panel[nr + kk * nr + j] = w[col * k + kk];
    }
  }
  return out;
}

AlignedBuffer pack_dwconv_weights(const float* w, size_t c, int k) {
  const size_t taps = static_cast<size_t>(k) * k;
  AlignedBuffer out(taps * c);
  for (size_t ch = 0; ch < c; ++ch)
    for (size_t t = 0; t < taps; ++t) out.data()[t * c + ch] = w[ch * taps + t];
  return out;
}

AlignedBuffer pack_conv_weights(const float* w, size_t co, size_t ci, int k) {
  const size_t kk = static_cast<size_t>(k);
  AlignedBuffer out(kk * kk * ci * co);
  for (size_t o = 0; o < co; ++o)
    for (size_t i = 0; i < ci; ++i)
      for (size_t y = 0; y < kk; ++y)
        for (size_t x = 0; x < kk; ++x)
          out.data()[((y * kk + x) * ci + i) * co + o] = w[((o * ci + i) * kk + y) * kk + x];
  return out;
}

AlignedBuffer pack_deconv_weights(const float* w, size_t ci, size_t co) {
  AlignedBuffer out(16 * ci * co);
  for (int py = 0; py < 2; ++py)
    for (int px = 0; px < 2; ++px)
      for (int ty = 0; ty < 2; ++ty)
        for (int tx = 0; tx < 2; ++tx) {
          const int ky = kernels::deconv_tap_kernel_index(py, ty);
          const int kx = kernels::deconv_tap_kernel_index(px, tx);
          float* dst = out.data() + static_cast<size_t>((py * 2 + px) * 4 + ty * 2 + tx) * ci * co;
          for (size_t i = 0; i < ci; ++i)
            for (size_t o = 0; o < co; ++o)
              dst[i * co + o] = w[((i * co + o) * 4 + static_cast<size_t>(ky)) * 4 + static_cast<size_t>(kx)];
        }
  return out;
}

}  // namespace litepose::ops
