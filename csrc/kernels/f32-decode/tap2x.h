// Source taps of a 2x bilinear upsample (align_corners=False, as torch's
// F.interpolate): output index o of a length-n axis reads input i0 with
// weight w0 and i1 with w1, where real = max(0.5 * (o + 0.5) - 0.5, 0),
// i0 = floor(real), w1 = real - i0, w0 = 1 - w1, i1 = i0 + (i0 < n - 1).
// Shared by the decoder and the per-ISA decode kernels; internal linkage so
// that every translation unit (each with its own ISA flags) has its own copy.
#pragma once

namespace litepose::kernels {
namespace {

struct Tap2x {
  int i0, i1;
  float w0, w1;
};

inline Tap2x tap2x(int o, int n) {
  Tap2x t;
  if (o == 0) {
    t.i0 = 0, t.w0 = 1.f, t.w1 = 0.f;
  } else if (o & 1) {
    t.i0 = o >> 1, t.w0 = 0.75f, t.w1 = 0.25f;
  } else {
    t.i0 = (o >> 1) - 1, t.w0 = 0.25f, t.w1 = 0.75f;
  }
  t.i1 = t.i0 + (t.i0 < n - 1 ? 1 : 0);
  return t;
}

}  // namespace
}  // namespace litepose::kernels
