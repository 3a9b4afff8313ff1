// The f32-deconv family: 4x4 stride-2 padding-1 transposed convolution as
// four 2x2 sub-convolutions (one per output phase).  Contract and weight
// layout: kernels.h (DeconvFn).
#pragma once

#include "kernels/kernels.h"

namespace litepose::kernels {

// Input offset of tap t (0 or 1) for output phase ph (0 or 1), per axis.
constexpr int deconv_tap_offset(int phase, int tap) {
  return phase == 0 ? (tap == 0 ? 0 : -1) : (tap == 0 ? 1 : 0);
}
// Kernel index (ky or kx of the PyTorch 4x4 kernel) of tap t for phase ph.
constexpr int deconv_tap_kernel_index(int phase, int tap) {
  return phase == 0 ? (tap == 0 ? 1 : 3) : (tap == 0 ? 0 : 2);
}

void f32_deconv_4x4s2__scalar(const DeconvParams& p, const float* in, const float* w,
                              const float* bias, float* out, size_t oy0, size_t oy1);
#if defined(__x86_64__) || defined(_M_X64)
void f32_deconv_4x4s2__avx2(const DeconvParams& p, const float* in, const float* w,
                            const float* bias, float* out, size_t oy0, size_t oy1);
void f32_deconv_4x4s2__avx512f(const DeconvParams& p, const float* in, const float* w,
                               const float* bias, float* out, size_t oy0, size_t oy1);
#endif
#if defined(__aarch64__)
void f32_deconv_4x4s2__neon(const DeconvParams& p, const float* in, const float* w,
                            const float* bias, float* out, size_t oy0, size_t oy1);
#endif

}  // namespace litepose::kernels
