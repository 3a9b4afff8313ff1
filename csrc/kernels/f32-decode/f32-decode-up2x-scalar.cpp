// f32_decode_up2x_*__scalar: the portable rows of the decoder's 2x bilinear
// upsampling and heatmap average.  Contract: f32-decode.h.  Also the
// decoder's kernel selection (decode_kernels()).
//
// Built with the core's default flags (no -mfma on x86-64): lin() is the
// double emulation of torch's fused step (decode/decode_internal.h), and
// fp-contract is off there so the compiler fuses nothing else.
#include <cstdlib>
#include <cstring>

#include "decode/decode_internal.h"
#include "kernels/f32-decode/f32-decode.h"
#include "ops/cpu.h"

namespace litepose::kernels {

using litepose::detail::lin;

void f32_decode_up2x_wpass__scalar(const float* src, int n, float* dst) {
  dst[0] = lin(src[0], src[n > 1 ? 1 : 0], 1.f, 0.f);
  for (int m = 0; m + 1 < n; ++m) {
    dst[2 * m + 1] = lin(src[m], src[m + 1], 0.75f, 0.25f);
    dst[2 * m + 2] = lin(src[m], src[m + 1], 0.25f, 0.75f);
  }
  dst[2 * n - 1] = lin(src[n - 1], src[n - 1], 0.75f, 0.25f);
}

void f32_decode_up2x_hpass__scalar(const float* r0, const float* r1, float w0, float w1, int n,
                                   float* dst) {
  for (int x = 0; x < n; ++x) dst[x] = lin(r0[x], r1[x], w0, w1);
}

void f32_decode_up2x_hpass_avg__scalar(const float* r0, const float* r1, float w0, float w1,
                                       const float* o2, int n, float* dst) {
  for (int x = 0; x < n; ++x) dst[x] = (0.0f + lin(r0[x], r1[x], w0, w1) + o2[x]) / 2.0f;
}

float f32_decode_up2x_at__scalar(const float* m, int h, int w, int y, int x) {
  return litepose::detail::up2x_at(m, h, w, y, x);
}

void f32_decode_refine_score__scalar(const float* det, const float* t0, const float* t1, float p0,
                                     float p1, int n, float* v) {
  for (int x = 0; x < n; ++x) {
    const float d0 = t0[x] - p0;
    float ss = d0 * d0;
    if (t1) {
      const float d1 = t1[x] - p1;
      ss = ss + d1 * d1;
    }
    v[x] = det[x] - std::nearbyint(std::sqrt(ss));
  }
}

int f32_decode_argmax__scalar(const float* v, int n, float* max) {
  int best = 0;
  for (int i = 1; i < n; ++i)
    if (v[i] > v[best]) best = i;
  *max = v[best];
  return best;
}

float f32_decode_rowmax__scalar(const float* v, int n) {
  float m = v[0];
  for (int i = 1; i < n; ++i) m = v[i] > m ? v[i] : m;
  return m;
}

bool f32_decode_all_safe__scalar(const float* v, size_t n) {
  return litepose::detail::all_safe(v, n);
}

const DecodeKernels& decode_kernels_scalar() {
  static const DecodeKernels k = {"f32-decode-up2x-scalar", f32_decode_up2x_wpass__scalar,
                                  f32_decode_up2x_hpass__scalar,
                                  f32_decode_up2x_hpass_avg__scalar, f32_decode_up2x_at__scalar,
                                  f32_decode_refine_score__scalar, f32_decode_argmax__scalar,
                                  f32_decode_rowmax__scalar, f32_decode_all_safe__scalar};
  return k;
}

const DecodeKernels* decode_kernels_avx2() {
#if defined(LITEPOSE_HAVE_AVX2)
  static const DecodeKernels k = {"f32-decode-up2x-avx2", f32_decode_up2x_wpass__avx2,
                                  f32_decode_up2x_hpass__avx2, f32_decode_up2x_hpass_avg__avx2, f32_decode_up2x_at__avx2, f32_decode_refine_score__avx2,
                                  f32_decode_argmax__avx2, f32_decode_rowmax__avx2,
                                  f32_decode_all_safe__avx2};
  const ops::CpuInfo& cpu = ops::cpu_info();
  if (cpu.avx2 && cpu.fma) return &k;
#endif
  return nullptr;
}

const DecodeKernels& decode_kernels() {
  static const DecodeKernels* chosen = [] {
    const char* env = std::getenv("LITEPOSE_DECODE_ISA");
    if (env && std::strcmp(env, "scalar") == 0) return &decode_kernels_scalar();
    const DecodeKernels* a = decode_kernels_avx2();
    return a ? a : &decode_kernels_scalar();
  }();
  return *chosen;
}

}  // namespace litepose::kernels
