// f32_decode_up2x_*__avx2: the decoder's 2x bilinear rows with the FMA
// unit, 8 floats per ymm.  Contract: f32-decode.h.
//
// Why a kernel of its own: torch computes each linear step as one fused
// multiply-add; without -mfma the core has to emulate that rounding in
// double, which is what made the map merge the decoder's second cost.  Here
// _mm256_fmadd_ps rounds exactly like torch (bit-identical to the scalar
// kernel on network outputs, checked in tests/cpp/test_decode_fast.cpp).
//
// W pass, 8 source columns m..m+7 per step:
//   a = s[m..m+7], b = s[m+1..m+8]
//   p = fma(a, 3/4, b * 1/4)   -> dst[2m+1], dst[2m+3], ...  (odd)
//   q = fma(a, 1/4, b * 3/4)   -> dst[2m+2], dst[2m+4], ...  (even)
//   interleave p, q (unpacklo/hi + permute2f128) -> dst[2m+1 .. 2m+16]
// The first and last outputs, and the tail, run the scalar formula with
// std::fma (exact here: this file is built with -mfma).
// Only the explicit _mm256_fmadd_ps / std::fma calls may fuse: GCC would
// otherwise contract the vector multiply + add of refine_score.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#elif defined(__clang__)
#pragma clang fp contract(off)
#endif
#include <immintrin.h>

#include <cmath>
#include <cstdint>

#include "kernels/f32-decode/tap2x.h"
#include "kernels/f32-decode/f32-decode.h"

namespace litepose::kernels {

// Own helpers in an anonymous namespace, not decode_internal.h's: an inline
// function compiled here with -mfma and elsewhere without would be one name
// with two bodies (ODR), and the linker would keep either.
namespace {
inline float lin_fma(float a, float b, float w0, float w1) { return std::fma(a, w0, b * w1); }

}  // namespace

float f32_decode_up2x_at__avx2(const float* m, int h, int w, int y, int x) {
  const Tap2x ty = tap2x(y, h), tx = tap2x(x, w);
  const float* r0 = m + static_cast<size_t>(ty.i0) * w;
  const float* r1 = m + static_cast<size_t>(ty.i1) * w;
  const float t0 = lin_fma(r0[tx.i0], r0[tx.i1], tx.w0, tx.w1);
  const float t1 = lin_fma(r1[tx.i0], r1[tx.i1], tx.w0, tx.w1);
  return lin_fma(t0, t1, ty.w0, ty.w1);
}

void f32_decode_up2x_wpass__avx2(const float* src, int n, float* dst) {
  dst[0] = lin_fma(src[0], src[n > 1 ? 1 : 0], 1.f, 0.f);
  const __m256 c34 = _mm256_set1_ps(0.75f), c14 = _mm256_set1_ps(0.25f);
  int m = 0;
  for (; m + 8 < n; m += 8) {  // reads s[m .. m+8]
    const __m256 a = _mm256_loadu_ps(src + m);
    const __m256 b = _mm256_loadu_ps(src + m + 1);
    const __m256 p = _mm256_fmadd_ps(a, c34, _mm256_mul_ps(b, c14));
    const __m256 q = _mm256_fmadd_ps(a, c14, _mm256_mul_ps(b, c34));
    const __m256 lo = _mm256_unpacklo_ps(p, q);  // p0 q0 p1 q1 | p4 q4 p5 q5
    const __m256 hi = _mm256_unpackhi_ps(p, q);  // p2 q2 p3 q3 | p6 q6 p7 q7
    _mm256_storeu_ps(dst + 2 * m + 1, _mm256_permute2f128_ps(lo, hi, 0x20));
    _mm256_storeu_ps(dst + 2 * m + 9, _mm256_permute2f128_ps(lo, hi, 0x31));
  }
  for (; m + 1 < n; ++m) {
    dst[2 * m + 1] = lin_fma(src[m], src[m + 1], 0.75f, 0.25f);
    dst[2 * m + 2] = lin_fma(src[m], src[m + 1], 0.25f, 0.75f);
  }
  dst[2 * n - 1] = lin_fma(src[n - 1], src[n - 1], 0.75f, 0.25f);
}

void f32_decode_up2x_hpass__avx2(const float* r0, const float* r1, float w0, float w1, int n,
                                 float* dst) {
  const __m256 v0 = _mm256_set1_ps(w0), v1 = _mm256_set1_ps(w1);
  int x = 0;
  for (; x + 8 <= n; x += 8)
    _mm256_storeu_ps(dst + x, _mm256_fmadd_ps(_mm256_loadu_ps(r0 + x), v0,
                                              _mm256_mul_ps(_mm256_loadu_ps(r1 + x), v1)));
  for (; x < n; ++x) dst[x] = lin_fma(r0[x], r1[x], w0, w1);
}

void f32_decode_up2x_hpass_avg__avx2(const float* r0, const float* r1, float w0, float w1,
                                     const float* o2, int n, float* dst) {
  const __m256 v0 = _mm256_set1_ps(w0), v1 = _mm256_set1_ps(w1);
  const __m256 zero = _mm256_setzero_ps(), half = _mm256_set1_ps(0.5f);
  int x = 0;
  for (; x + 8 <= n; x += 8) {
    const __m256 u = _mm256_fmadd_ps(_mm256_loadu_ps(r0 + x), v0,
                                     _mm256_mul_ps(_mm256_loadu_ps(r1 + x), v1));
    // (0 + u + o2) / 2: dividing by 2 and multiplying by 1/2 round alike.
    const __m256 s = _mm256_add_ps(_mm256_add_ps(zero, u), _mm256_loadu_ps(o2 + x));
    _mm256_storeu_ps(dst + x, _mm256_mul_ps(s, half));
  }
  for (; x < n; ++x) dst[x] = (0.0f + lin_fma(r0[x], r1[x], w0, w1) + o2[x]) / 2.0f;
}

void f32_decode_refine_score__avx2(const float* det, const float* t0, const float* t1, float p0,
                                   float p1, int n, float* v) {
  const __m256 vp0 = _mm256_set1_ps(p0), vp1 = _mm256_set1_ps(p1);
  int x = 0;
  for (; x + 8 <= n; x += 8) {
    const __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(t0 + x), vp0);
    __m256 ss = _mm256_mul_ps(d0, d0);
    if (t1) {
      const __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(t1 + x), vp1);
      ss = _mm256_add_ps(ss, _mm256_mul_ps(d1, d1));
    }
    // round to nearest even without raising inexact = std::nearbyint
    const __m256 r = _mm256_round_ps(_mm256_sqrt_ps(ss), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm256_storeu_ps(v + x, _mm256_sub_ps(_mm256_loadu_ps(det + x), r));
  }
  for (; x < n; ++x) {
    const float d0 = t0[x] - p0;
    float ss = d0 * d0;
    if (t1) {
      const float d1 = t1[x] - p1;
      ss = ss + d1 * d1;
    }
    v[x] = det[x] - std::nearbyint(std::sqrt(ss));
  }
}

float f32_decode_rowmax__avx2(const float* v, int n) {
  int i = 0;
  float m = v[0];
  if (n >= 8) {
    __m256 acc = _mm256_loadu_ps(v);
    for (i = 8; i + 8 <= n; i += 8) acc = _mm256_max_ps(acc, _mm256_loadu_ps(v + i));
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_shuffle_ps(h, h, 1));
    m = _mm_cvtss_f32(h);
  }
  for (; i < n; ++i) m = v[i] > m ? v[i] : m;
  return m;
}

int f32_decode_argmax__avx2(const float* v, int n, float* max) {
  const float m = f32_decode_rowmax__avx2(v, n);
  *max = m;
  const __m256 vm = _mm256_set1_ps(m);
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    const int mask = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(v + i), vm, _CMP_EQ_OQ));
    if (mask) return i + __builtin_ctz(static_cast<unsigned>(mask));
  }
  for (; i < n; ++i)
    if (v[i] == m) return i;
  return 0;  // not reached without NaN
}

bool f32_decode_all_safe__avx2(const float* v, size_t n) {
  const __m256i exp = _mm256_set1_epi32(0x7f800000), lim = _mm256_set1_epi32(0x7e000000 - 1);
  __m256i bad = _mm256_setzero_si256();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i e = _mm256_and_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(v + i)), exp);
    bad = _mm256_or_si256(bad, _mm256_cmpgt_epi32(e, lim));  // e >= 2^125's exponent
  }
  bool ok = _mm256_testz_si256(bad, bad);
  const uint32_t* u = reinterpret_cast<const uint32_t*>(v);
  for (; i < n; ++i) ok &= (u[i] & 0x7f800000u) < 0x7e000000u;
  return ok;
}

}  // namespace litepose::kernels
