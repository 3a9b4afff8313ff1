// The f32-decode family: the per-pixel steps of the pose decoder's map
// merge (csrc/decode/maps.cpp), one row at a time.
//
// Contract (every ISA gives the same bits as the scalar kernel):
//   * lin(a, b, w0, w1) = fma(a, w0, b * w1) rounded once to float, as
//     torch's CPU bilinear kernel computes one linear step.  The scalar
//     kernel, built without -mfma, emulates it in double (see
//     decode/decode_internal.h: exact for the weights 0, 1/4, 3/4, 1 except
//     far-apart operands landing on a float tie); the AVX2 kernel uses the
//     FMA unit and is exact.  They agree on every network output we have.
//   * up2x_wpass: one row of n >= 1 inputs resized by 2 along W
//     (align_corners=False): dst[0] = lin(s0, s[min(1,n-1)], 1, 0),
//     dst[2m+1] = lin(s[m], s[m+1], 3/4, 1/4), dst[2m+2] = lin(s[m], s[m+1],
//     1/4, 3/4) for m < n-1, dst[2n-1] = lin(s[n-1], s[n-1], 3/4, 1/4).
//     Reads src[0..n), writes dst[0..2n).
//   * up2x_hpass: dst[x] = lin(r0[x], r1[x], w0, w1), x < n.
//   * up2x_hpass_avg: dst[x] = ((0 + lin(r0[x], r1[x], w0, w1)) + o2[x]) / 2,
//     the heatmap average of get_multi_stage_outputs (the leading 0 + is
//     torch's zero-initialised accumulator: it turns -0 into +0).
//   * up2x_at: the value at (y, x) of the 2x upsampling of an h x w map,
//     computed on its own with the same taps and steps (W first, then H).
//   * refine_score: v[x] = det[x] - nearbyint(sqrt(ss)), ss = (t0[x]-p0)^2
//     (+ (t1[x]-p1)^2 when t1 is not null), squares rounded before the sum
//     (no FMA), as refine's det - torch.round(||tag - prev_tag||).
//   * argmax: the largest of v[0..n) (n >= 1, no NaN) and the first index
//     holding it.
//   * rowmax: the largest of v[0..n) (n >= 1, no NaN).
//   * all_safe: every value finite and below 2^125 in magnitude.
//   * No allocation, no threads, no reads or writes past n.
#pragma once

#include <cstddef>

namespace litepose::kernels {

using Up2xWpassFn = void (*)(const float* src, int n, float* dst);
using Up2xHpassFn = void (*)(const float* r0, const float* r1, float w0, float w1, int n,
                             float* dst);
using Up2xAtFn = float (*)(const float* m, int h, int w, int y, int x);
using RefineScoreFn = void (*)(const float* det, const float* t0, const float* t1, float p0,
                              float p1, int n, float* v);
using ArgmaxFn = int (*)(const float* v, int n, float* max);
using RowmaxFn = float (*)(const float* v, int n);
using AllSafeFn = bool (*)(const float* v, size_t n);
using Up2xHpassAvgFn = void (*)(const float* r0, const float* r1, float w0, float w1,
                                const float* o2, int n, float* dst);

void f32_decode_up2x_wpass__scalar(const float* src, int n, float* dst);
void f32_decode_up2x_hpass__scalar(const float* r0, const float* r1, float w0, float w1, int n,
                                   float* dst);
void f32_decode_up2x_hpass_avg__scalar(const float* r0, const float* r1, float w0, float w1,
                                       const float* o2, int n, float* dst);
float f32_decode_up2x_at__scalar(const float* m, int h, int w, int y, int x);
void f32_decode_refine_score__scalar(const float* det, const float* t0, const float* t1, float p0,
                                     float p1, int n, float* v);
int f32_decode_argmax__scalar(const float* v, int n, float* max);
float f32_decode_rowmax__scalar(const float* v, int n);
bool f32_decode_all_safe__scalar(const float* v, size_t n);
#if defined(__x86_64__) || defined(_M_X64)
void f32_decode_up2x_wpass__avx2(const float* src, int n, float* dst);
void f32_decode_up2x_hpass__avx2(const float* r0, const float* r1, float w0, float w1, int n,
                                 float* dst);
void f32_decode_up2x_hpass_avg__avx2(const float* r0, const float* r1, float w0, float w1,
                                     const float* o2, int n, float* dst);
float f32_decode_up2x_at__avx2(const float* m, int h, int w, int y, int x);
void f32_decode_refine_score__avx2(const float* det, const float* t0, const float* t1, float p0,
                                   float p1, int n, float* v);
int f32_decode_argmax__avx2(const float* v, int n, float* max);
float f32_decode_rowmax__avx2(const float* v, int n);
bool f32_decode_all_safe__avx2(const float* v, size_t n);
#endif

// The set the decoder uses, chosen once per process: AVX2+FMA when compiled
// in and supported by this CPU, else scalar.  LITEPOSE_DECODE_ISA=scalar
// forces the scalar set (tests compare the two).
struct DecodeKernels {
  const char* name;
  Up2xWpassFn wpass;
  Up2xHpassFn hpass;
  Up2xHpassAvgFn hpass_avg;
  Up2xAtFn at;
  RefineScoreFn refine_score;
  ArgmaxFn argmax;
  RowmaxFn rowmax;
  AllSafeFn all_safe;
};
const DecodeKernels& decode_kernels();
const DecodeKernels& decode_kernels_scalar();
const DecodeKernels* decode_kernels_avx2();  // null when not compiled in or not supported

}  // namespace litepose::kernels
