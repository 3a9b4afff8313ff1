// Partial-vector loads and stores for NEON kernels: channel tails of 1..3
// floats, never touching memory past them (activation buffers end exactly
// at their last channel).  Internal linkage, so every NEON translation unit
// gets its own copy (see cmake/LiteposeIsa.cmake on per-ISA flags).
#pragma once

#include <arm_neon.h>

#include <cstddef>

namespace litepose::kernels {
namespace {

// First `n` (1..3) lanes from p, the rest zero.
inline float32x4_t load_partial(const float* p, size_t n) {
  float32x4_t v = vdupq_n_f32(0.f);
  v = vld1q_lane_f32(p, v, 0);
  if (n > 1) v = vld1q_lane_f32(p + 1, v, 1);
  if (n > 2) v = vld1q_lane_f32(p + 2, v, 2);
  return v;
}

// Lanes 0..n-1 (n in 1..3) of v to p.
inline void store_partial(float* p, float32x4_t v, size_t n) {
  vst1q_lane_f32(p, v, 0);
  if (n > 1) vst1q_lane_f32(p + 1, v, 1);
  if (n > 2) vst1q_lane_f32(p + 2, v, 2);
}

}  // namespace
}  // namespace litepose::kernels
