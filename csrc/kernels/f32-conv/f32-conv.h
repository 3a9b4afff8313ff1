// The f32-conv family: dense kxk convolution over NHWC for few input
// channels (LitePose's 3->32 stride-2 stem).  Contract: kernels.h (ConvFn).
#pragma once

#include "kernels/kernels.h"

namespace litepose::kernels {

void f32_conv_kxk__scalar(const ConvParams& p, const float* in, const float* w,
                          const float* bias, float* out, size_t oy0, size_t oy1);
#if defined(__x86_64__) || defined(_M_X64)
void f32_conv_kxk__avx2(const ConvParams& p, const float* in, const float* w,
                        const float* bias, float* out, size_t oy0, size_t oy1);
#endif

}  // namespace litepose::kernels
