// Native test-time preprocessing (see litepose/preprocess.h for the why).
#include "litepose/preprocess.h"

#include <cmath>
#include <string>
#include <utility>

namespace litepose {

namespace {

// cv::getAffineTransform: a 6x6 system solved by OpenCV's LU (partial
// pivoting, double), replicated so the matrix matches cv2's.
void solve_affine(const float src[3][2], const float dst[3][2], double m[6]) {
  double a[36], b[6];
  for (int i = 0; i < 3; ++i) {
    const int j = i * 12, k = i * 12 + 6;
    a[j] = a[k + 3] = src[i][0];
    a[j + 1] = a[k + 4] = src[i][1];
    a[j + 2] = a[k + 5] = 1;
    a[j + 3] = a[j + 4] = a[j + 5] = 0;
    a[k] = a[k + 1] = a[k + 2] = 0;
    b[i * 2] = dst[i][0];
    b[i * 2 + 1] = dst[i][1];
  }
  const int n = 6;
  for (int i = 0; i < n; ++i) {
    int k = i;
    for (int j = i + 1; j < n; ++j)
      if (std::fabs(a[j * n + i]) > std::fabs(a[k * n + i])) k = j;
    if (std::fabs(a[k * n + i]) < 1e-300)
      throw InputError("affine transform: degenerate points");
    if (k != i) {
      for (int j = i; j < n; ++j) std::swap(a[i * n + j], a[k * n + j]);
      std::swap(b[i], b[k]);
    }
    const double d = -1 / a[i * n + i];
    for (int j = i + 1; j < n; ++j) {
      const double alpha = a[j * n + i] * d;
      for (int q = i + 1; q < n; ++q) a[j * n + q] += alpha * a[i * n + q];
      b[j] += alpha * b[i];
    }
    a[i * n + i] = -d;
  }
  for (int i = n - 1; i >= 0; --i) {
    double s = b[i];
    for (int q = i + 1; q < n; ++q) s -= a[i * n + q] * b[q];
    b[i] = s * a[i * n + i];
  }
  for (int i = 0; i < 6; ++i) m[i] = b[i];
}

// ToTensor + Normalize in float32 for every uint8 value, per RGB channel.
struct NormLut {
  float v[3][256];
  NormLut() {
    const float mean[3] = {0.485f, 0.456f, 0.406f};
    const float stdv[3] = {0.229f, 0.224f, 0.225f};
    for (int c = 0; c < 3; ++c)
      for (int i = 0; i < 256; ++i) v[c][i] = (static_cast<float>(i) / 255.0f - mean[c]) / stdv[c];
  }
};
const NormLut& lut() {
  static const NormLut l;
  return l;
}

}  // namespace

Affine official_affine(const double center[2], const double scale[2], int out_w, int out_h,
                       bool inverse) {
  // scale_tmp = scale * 200; src_dir = get_dir([0, src_w * -0.5], 0).
  const double src_w = scale[0] * 200.0;
  const double dst_w = out_w, dst_h = out_h;
  float src[3][2], dst[3][2];
  src[0][0] = static_cast<float>(center[0]);
  src[0][1] = static_cast<float>(center[1]);
  // get_dir with rot 0: [0*cos - (-0.5 src_w)*sin, 0*sin + (-0.5 src_w)*cos]
  src[1][0] = static_cast<float>(center[0] + (0.0 * 1.0 - (src_w * -0.5) * 0.0));
  src[1][1] = static_cast<float>(center[1] + (0.0 * 0.0 + (src_w * -0.5) * 1.0));
  const float dst_dir1 = static_cast<float>(dst_w * -0.5);
  dst[0][0] = static_cast<float>(dst_w * 0.5);
  dst[0][1] = static_cast<float>(dst_h * 0.5);
  dst[1][0] = static_cast<float>(dst_w * 0.5 + 0.0);
  dst[1][1] = static_cast<float>(dst_h * 0.5 + static_cast<double>(dst_dir1));
  auto third = [](const float* a, const float* b, float* out) {  // get_3rd_point
    const float d0 = a[0] - b[0], d1 = a[1] - b[1];
    out[0] = b[0] + -d1;
    out[1] = b[1] + d0;
  };
  third(src[0], src[1], src[2]);
  third(dst[0], dst[1], dst[2]);
  Affine t;
  if (inverse)
    solve_affine(dst, src, t.m);
  else
    solve_affine(src, dst, t.m);
  return t;
}

PreprocessPlan plan_preprocess(int image_h, int image_w, int input_size) {
  if (image_h <= 0 || image_w <= 0)
    throw InputError("preprocess: expected a non-empty image, got " + std::to_string(image_h) +
                     "x" + std::to_string(image_w));
  if (image_h > 32768 || image_w > 32768)
    throw InputError("preprocess: expected an image of at most 32768 pixels a side, got " +
                     std::to_string(image_h) + "x" + std::to_string(image_w));
  if (input_size <= 0 || input_size > 4096)
    throw InputError("preprocess: expected input_size in [1, 4096], got " +
                     std::to_string(input_size));
  PreprocessPlan p;
  p.image_height = image_h;
  p.image_width = image_w;
  const double h = image_h, w = image_w;
  p.center[0] = static_cast<int>(w / 2.0 + 0.5);
  p.center[1] = static_cast<int>(h / 2.0 + 0.5);
  const int min_input = static_cast<int>(std::floor((1.0 * input_size + 63) / 64) * 64);
  int wr, hr;
  if (image_w < image_h) {
    wr = min_input;
    hr = static_cast<int>(std::floor((min_input / w * h + 63) / 64) * 64);
    p.scale[0] = w / 200.0;
    p.scale[1] = static_cast<double>(hr) / wr * w / 200.0;
  } else {
    hr = min_input;
    wr = static_cast<int>(std::floor((min_input / h * w + 63) / 64) * 64);
    p.scale[1] = h / 200.0;
    p.scale[0] = static_cast<double>(wr) / hr * h / 200.0;
  }
  if (static_cast<long>(hr) * wr > 64L * 1024 * 1024)
    throw InputError("preprocess: image aspect " + std::to_string(image_w) + "x" +
                     std::to_string(image_h) + " gives an absurd input size " +
                     std::to_string(wr) + "x" + std::to_string(hr));
  p.width = wr;
  p.height = hr;
  p.to_input = official_affine(p.center, p.scale, wr, hr, false);
  p.to_image = official_affine(p.center, p.scale, wr, hr, true);
  return p;
}

namespace {

// Round half to even for 0 <= v < 2^22 (std::nearbyint in the default
// rounding mode): adding 1.5 * 2^23 leaves no fraction bits, so the addition
// itself rounds, to nearest even (1.5 * 2^23 is even).  Exact and branch
// free; this file is built with -ffp-contract=off and without fast-math, so
// the compiler keeps both operations.
inline float round_even_small(float v) {
  constexpr float kMagic = 12582912.0f;
  return (v + kMagic) - kMagic;
}

// One output pixel whose 2x2 source neighbourhood may leave the image (taps
// outside read 0, cv2's BORDER_CONSTANT 0).  fx0 >= -1, fx0 < iw etc. hold.
inline void border_pixel(const uint8_t* image, size_t row_stride, int iw, int ih, const int src_c[3],
                         const float (*lut)[256], int x0, int y0, float ax, float ay, float v[3]) {
  const float w00 = (1 - ax) * (1 - ay), w01 = ax * (1 - ay);
  const float w10 = (1 - ax) * ay, w11 = ax * ay;
  const bool in_x0 = x0 >= 0, in_x1 = x0 + 1 < iw, in_y0 = y0 >= 0, in_y1 = y0 + 1 < ih;
  const uint8_t* r0 = in_y0 ? image + static_cast<size_t>(y0) * row_stride : nullptr;
  const uint8_t* r1 = in_y1 ? image + static_cast<size_t>(y0 + 1) * row_stride : nullptr;
  for (int c = 0; c < 3; ++c) {
    const int sc = src_c[c];
    const float p00 = (r0 && in_x0) ? r0[x0 * 3 + sc] : 0.f;
    const float p01 = (r0 && in_x1) ? r0[(x0 + 1) * 3 + sc] : 0.f;
    const float p10 = (r1 && in_x0) ? r1[x0 * 3 + sc] : 0.f;
    const float p11 = (r1 && in_x1) ? r1[(x0 + 1) * 3 + sc] : 0.f;
    float r = round_even_small(p00 * w00 + p01 * w01 + p10 * w10 + p11 * w11);
    r = r < 0 ? 0 : (r > 255 ? 255 : r);
    v[c] = lut[c][static_cast<int>(r)];
  }
}

}  // namespace

void preprocess(const uint8_t* image, size_t row_stride, bool rgb, const PreprocessPlan& plan,
                float* out) {
  if (!image || !out) throw InputError("preprocess: null image or output");
  const int ih = plan.image_height, iw = plan.image_width;
  if (row_stride < static_cast<size_t>(iw) * 3)
    throw InputError("preprocess: row_stride " + std::to_string(row_stride) +
                     " is smaller than width*3 = " + std::to_string(iw * 3));
  // Inverse of the warp matrix as cv::warpAffine computes it.
  const double* M = plan.to_input.m;
  double D = M[0] * M[4] - M[1] * M[3];
  D = D != 0 ? 1. / D : 0;
  const double A11 = M[4] * D, A22 = M[0] * D, A12 = -M[1] * D, A21 = -M[3] * D;
  const double b1 = -A11 * M[2] - A12 * M[5];
  const double b2 = -A21 * M[2] - A22 * M[5];
  const int H = plan.height, W = plan.width;
  const size_t plane = static_cast<size_t>(H) * W;
  const float(*L)[256] = lut().v;
  // Output channel c (RGB) reads source channel src_c[c].
  const int src_c[3] = {rgb ? 0 : 2, 1, rgb ? 2 : 0};
  const int s0 = src_c[0], s2 = src_c[2];
  // cv2 5.0 warps in float32: source coordinates, weights (products of the
  // fractional parts) and the weighted sum, rounded half to even.
  const float fA11 = static_cast<float>(A11), fA12 = static_cast<float>(A12);
  const float fA21 = static_cast<float>(A21), fA22 = static_cast<float>(A22);
  const float fb1 = static_cast<float>(b1), fb2 = static_cast<float>(b2);
  const float fiw = static_cast<float>(iw), fih = static_cast<float>(ih);
  const float zero[3] = {L[0][0], L[1][0], L[2][0]};
  for (int y = 0; y < H; ++y) {
    float* o0 = out + static_cast<size_t>(y) * W;
    float* o1 = o0 + plane;
    float* o2 = o1 + plane;
    const float fy = static_cast<float>(y);
    for (int x = 0; x < W; ++x) {
      const float fx = static_cast<float>(x);
      const float sx = fA11 * fx + fA12 * fy + fb1;
      const float sy = fA21 * fx + fA22 * fy + fb2;
      // floor(s) >= -1 and < n  <=>  s >= -1 and s < n (n an integer); NaN fails
      if (!(sx >= -1.f && sx < fiw && sy >= -1.f && sy < fih)) {
        o0[x] = zero[0];
        o1[x] = zero[1];
        o2[x] = zero[2];
        continue;
      }
      // floor, exactly, for s in [-1, 32768)
      int x0 = static_cast<int>(sx), y0 = static_cast<int>(sy);
      x0 -= sx < static_cast<float>(x0);
      y0 -= sy < static_cast<float>(y0);
      const float ax = sx - static_cast<float>(x0), ay = sy - static_cast<float>(y0);
      if (x0 >= 0 && x0 + 1 < iw && y0 >= 0 && y0 + 1 < ih) {  // interior: all four taps inside
        const float w00 = (1 - ax) * (1 - ay), w01 = ax * (1 - ay);
        const float w10 = (1 - ax) * ay, w11 = ax * ay;
        const uint8_t* p0 = image + static_cast<size_t>(y0) * row_stride + static_cast<size_t>(x0) * 3;
        const uint8_t* p1 = p0 + row_stride;
        auto tap = [&](int sc) {
          float r = round_even_small(static_cast<float>(p0[sc]) * w00 + static_cast<float>(p0[3 + sc]) * w01 +
                                     static_cast<float>(p1[sc]) * w10 + static_cast<float>(p1[3 + sc]) * w11);
          r = r > 255 ? 255 : r;  // weights are >= 0, so r >= 0
          return static_cast<int>(r);
        };
        o0[x] = L[0][tap(s0)];
        o1[x] = L[1][tap(1)];
        o2[x] = L[2][tap(s2)];
      } else {
        float v[3];
        border_pixel(image, row_stride, iw, ih, src_c, L, x0, y0, ax, ay, v);
        o0[x] = v[0];
        o1[x] = v[1];
        o2[x] = v[2];
      }
    }
  }
}

}  // namespace litepose
