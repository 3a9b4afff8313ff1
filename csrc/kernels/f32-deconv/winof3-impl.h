// Bodies of the f32-deconv-winof3 transforms (f32-deconv-winof3.h), written
// once as plain loops over channels and compiled in each ISA's translation
// unit with that ISA's flags (f32-deconv-winof3-<isa>.cpp), where the
// compiler vectorises them over channels.  Include only from those files.
#pragma once

#include <algorithm>
#include <cstddef>

#include "kernels/f32-deconv/f32-deconv-winof3.h"

namespace litepose::kernels::winof3 {
// Internal linkage: every ISA's file gets its own copy (one shared inline
// definition would let the linker hand the AVX-512 body to the scalar path).
namespace {

// V = B^T d B for channels [0, c) of n consecutive tiles; d[a][b] points
// at the first tile's window pixel (row a, column b) or at zeros, and moves
// on by ds[a] floats per tile (3 pixels, or 0 for zeros); v at (xi 0, the
// first tile, first channel), vt floats per tile, xs per position xi.
inline void in_tiles(const float* const (&d)[4][4], const size_t (&ds)[4], size_t n, size_t c, float* v,
                     size_t vt, size_t xs) {
  for (size_t t = 0; t < n; ++t) {
    const float *d00 = d[0][0] + t * ds[0], *d01 = d[0][1] + t * ds[0], *d02 = d[0][2] + t * ds[0],
                *d03 = d[0][3] + t * ds[0];
    const float *d10 = d[1][0] + t * ds[1], *d11 = d[1][1] + t * ds[1], *d12 = d[1][2] + t * ds[1],
                *d13 = d[1][3] + t * ds[1];
    const float *d20 = d[2][0] + t * ds[2], *d21 = d[2][1] + t * ds[2], *d22 = d[2][2] + t * ds[2],
                *d23 = d[2][3] + t * ds[2];
    const float *d30 = d[3][0] + t * ds[3], *d31 = d[3][1] + t * ds[3], *d32 = d[3][2] + t * ds[3],
                *d33 = d[3][3] + t * ds[3];
    float* v0 = v + t * vt;
#pragma GCC ivdep
    for (size_t k = 0; k < c; ++k) {
      // rows: B^T along x
      const float r00 = d00[k] - d02[k], r01 = d01[k] + d02[k], r02 = d02[k] - d01[k], r03 = d03[k] - d01[k];
      const float r10 = d10[k] - d12[k], r11 = d11[k] + d12[k], r12 = d12[k] - d11[k], r13 = d13[k] - d11[k];
      const float r20 = d20[k] - d22[k], r21 = d21[k] + d22[k], r22 = d22[k] - d21[k], r23 = d23[k] - d21[k];
      const float r30 = d30[k] - d32[k], r31 = d31[k] + d32[k], r32 = d32[k] - d31[k], r33 = d33[k] - d31[k];
      // columns: B^T along y; position xi = 4 a' + b'
      v0[0 * xs + k] = r00 - r20;
      v0[1 * xs + k] = r01 - r21;
      v0[2 * xs + k] = r02 - r22;
      v0[3 * xs + k] = r03 - r23;
      v0[4 * xs + k] = r10 + r20;
      v0[5 * xs + k] = r11 + r21;
      v0[6 * xs + k] = r12 + r22;
      v0[7 * xs + k] = r13 + r23;
      v0[8 * xs + k] = r20 - r10;
      v0[9 * xs + k] = r21 - r11;
      v0[10 * xs + k] = r22 - r12;
      v0[11 * xs + k] = r23 - r13;
      v0[12 * xs + k] = r30 - r10;
      v0[13 * xs + k] = r31 - r11;
      v0[14 * xs + k] = r32 - r12;
      v0[15 * xs + k] = r33 - r13;
    }
  }
}

inline void in_row(const DeconvWinoParams& p, const float* in0, const float* in1, const float* zeros,
                   int ph, long m0, size_t t0, size_t t1, float* v) {
  const int py = ph >> 1, px = ph & 1;
  const long H = static_cast<long>(p.in_h), W = static_cast<long>(p.in_w);
  const size_t K = p.ci0 + p.ci1;
  // tiles whose 4 window columns 3t - 1 + px + b all lie in the image
  const long ti0 = px == 0 ? 1 : 0, ti1 = (W - 3 - px) / 3 + 1;
  for (int part = 0; part < 2; ++part) {
    const float* in = part == 0 ? in0 : in1;
    const size_t c = part == 0 ? p.ci0 : p.ci1;
    if (c == 0) continue;
    float* vp = v + (part == 0 ? 0 : p.ci0);
    auto span = [&](size_t ta, size_t tb, bool interior) {
      if (tb <= ta) return;
      const float* d[4][4];
      size_t ds[4];
      for (int a = 0; a < 4; ++a) {
        const long iy = m0 - 1 + py + a;
        const bool row_ok = iy >= 0 && iy < H;
        ds[a] = row_ok && interior ? 3 * c : 0;
        for (int b = 0; b < 4; ++b) {
          const long ix = static_cast<long>(3 * ta) - 1 + px + b;
          d[a][b] = row_ok && ix >= 0 && ix < W ? in + (static_cast<size_t>(iy) * p.in_w + static_cast<size_t>(ix)) * c
                                                : zeros;
        }
      }
      in_tiles(d, ds, tb - ta, c, vp + (ta - t0) * 16 * K, 16 * K, K);
    };
    // interior tiles in one span, border tiles one by one (zeros for the
    // columns outside the image)
    const size_t a = std::clamp<size_t>(static_cast<size_t>(std::max<long>(ti0, 0)), t0, t1);
    const size_t b = std::clamp<size_t>(static_cast<size_t>(std::max<long>(ti1, 0)), a, t1);
    for (size_t t = t0; t < a; ++t) span(t, t + 1, false);
    span(a, b, true);
    for (size_t t = b; t < t1; ++t) span(t, t + 1, false);
  }
}

// Y = A^T M A + bias, clamped, for n consecutive tiles; m at (xi 0, the
// first tile), xs floats per position xi, co per tile; o[i][j]: where the
// first tile's output (row i, column j) goes, moving on by os[i] floats per
// tile (0 for a sink).
inline void out_tiles(const float* m, size_t xs, size_t n, const float* bias, size_t co, float lo, float hi,
                      float* const (&o)[3][3], const size_t (&os)[3]) {
  for (size_t t = 0; t < n; ++t) {
    const float* mt = m + t * co;
    float *o00 = o[0][0] + t * os[0], *o01 = o[0][1] + t * os[0], *o02 = o[0][2] + t * os[0];
    float *o10 = o[1][0] + t * os[1], *o11 = o[1][1] + t * os[1], *o12 = o[1][2] + t * os[1];
    float *o20 = o[2][0] + t * os[2], *o21 = o[2][1] + t * os[2], *o22 = o[2][2] + t * os[2];
#pragma GCC ivdep
    for (size_t k = 0; k < co; ++k) {
      float x[16];
#pragma GCC unroll 16
      for (int i = 0; i < 16; ++i) x[i] = mt[static_cast<size_t>(i) * xs + k];
      // along y (a): output rows 0..2 from position rows 0..3
      float s[3][4];
#pragma GCC unroll 4
      for (int b = 0; b < 4; ++b) {
        s[0][b] = x[b] + x[4 + b] + x[8 + b];
        s[1][b] = x[4 + b] - x[8 + b];
        s[2][b] = x[4 + b] + x[8 + b] + x[12 + b];
      }
      const float bk = bias[k];
      float y[3][3];
#pragma GCC unroll 3
      for (int i = 0; i < 3; ++i) {
        y[i][0] = std::min(std::max(s[i][0] + s[i][1] + s[i][2] + bk, lo), hi);
        y[i][1] = std::min(std::max(s[i][1] - s[i][2] + bk, lo), hi);
        y[i][2] = std::min(std::max(s[i][1] + s[i][2] + s[i][3] + bk, lo), hi);
      }
      o00[k] = y[0][0];
      o01[k] = y[0][1];
      o02[k] = y[0][2];
      o10[k] = y[1][0];
      o11[k] = y[1][1];
      o12[k] = y[1][2];
      o20[k] = y[2][0];
      o21[k] = y[2][1];
      o22[k] = y[2][2];
    }
  }
}

inline void out_row(const DeconvWinoParams& p, const float* m, size_t xs, const float* bias, int ph, long m0,
                    size_t t0, size_t t1, size_t oy0, size_t oy1, float* out, float* sink) {
  const int py = ph >> 1, px = ph & 1;
  const size_t co = p.co, OW = 2 * p.in_w;
  // tiles whose 3 columns all lie in the image: t < in_w / 3
  const size_t full = std::clamp<size_t>(p.in_w / 3, t0, t1);
  auto span = [&](size_t ta, size_t tb, bool whole) {
    if (tb <= ta) return;
    float* o[3][3];
    size_t os[3];
    for (int i = 0; i < 3; ++i) {
      const size_t oy = 2 * (static_cast<size_t>(m0) + static_cast<size_t>(i)) + static_cast<size_t>(py);
      const bool row_ok = oy >= oy0 && oy < oy1;
      os[i] = row_ok && whole ? 6 * co : 0;
      for (int j = 0; j < 3; ++j) {
        const size_t n = 3 * ta + static_cast<size_t>(j);
        o[i][j] = row_ok && n < p.in_w ? out + (oy * OW + 2 * n + static_cast<size_t>(px)) * co : sink;
      }
    }
    out_tiles(m + (ta - t0) * co, xs, tb - ta, bias, co, p.min, p.max, o, os);
  };
  span(t0, full, true);
  for (size_t t = full; t < t1; ++t) span(t, t + 1, false);
}

}  // namespace
}  // namespace litepose::kernels::winof3
