// The f32-dwconv family: kxk depthwise convolution over NHWC, zero padding,
// stride 1 or 2.  Contract: kernels.h (DwConvFn).  Name grammar:
// f32_dwconv_<tile>__<isa>; "kxk" kernels take any odd kernel size.
#pragma once

#include "kernels/kernels.h"

namespace litepose::kernels {

void f32_dwconv_kxk__scalar(const DwConvParams& p, const float* in, const float* w,
                            const float* bias, float* out, size_t oy0, size_t oy1);
#if defined(__x86_64__) || defined(_M_X64)
void f32_dwconv_kxk__avx2(const DwConvParams& p, const float* in, const float* w,
                          const float* bias, float* out, size_t oy0, size_t oy1);
void f32_dwconv_kxk__avx512f(const DwConvParams& p, const float* in, const float* w,
                             const float* bias, float* out, size_t oy0, size_t oy1);
#endif
#if defined(__aarch64__)
void f32_dwconv_kxk__neon(const DwConvParams& p, const float* in, const float* w,
                          const float* bias, float* out, size_t oy0, size_t oy1);
#endif

}  // namespace litepose::kernels
