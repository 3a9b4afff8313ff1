// The f32-gemm family: 1x1 convolutions as C[m][n] = A[m][k] * W[k][n].
// Contract: kernels.h (GemmFn).  Name grammar: f32_gemm_<mr>x<nr>__<isa>;
// file names are the function names with '-' for '_'.  <nr> is the panel
// width the weights must be packed with (ops/pack.h).
#pragma once

#include "kernels/kernels.h"

namespace litepose::kernels {

void f32_gemm_4x8__scalar(size_t m, size_t n, size_t k, const float* a, size_t a_stride,
                          const float* packed_w, float* c, size_t c_stride, const float* r,
                          size_t r_stride, float min, float max);
#if defined(__x86_64__) || defined(_M_X64)
void f32_gemm_6x16__avx2(size_t m, size_t n, size_t k, const float* a, size_t a_stride,
                         const float* packed_w, float* c, size_t c_stride, const float* r,
                         size_t r_stride, float min, float max);
void f32_gemm_8x32__avx512f(size_t m, size_t n, size_t k, const float* a, size_t a_stride,
                            const float* packed_w, float* c, size_t c_stride, const float* r,
                            size_t r_stride, float min, float max);
#endif
#if defined(__aarch64__)
void f32_gemm_8x8__neon(size_t m, size_t n, size_t k, const float* a, size_t a_stride,
                        const float* packed_w, float* c, size_t c_stride, const float* r,
                        size_t r_stride, float min, float max);
#endif

}  // namespace litepose::kernels
