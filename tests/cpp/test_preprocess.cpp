// Tests of the native preprocessing: the official geometry and the pixel
// pass (identity warp, channel order, zero border, bad input, the
// optimised pass against the reference bit for bit).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "litepose/preprocess.h"
#include "reference/reference.h"
#include "testing.h"

using namespace litepose;

namespace {
float norm(int c, int v) {
  const float mean[3] = {0.485f, 0.456f, 0.406f}, stdv[3] = {0.229f, 0.224f, 0.225f};
  return (static_cast<float>(v) / 255.0f - mean[c]) / stdv[c];
}
void apply(const Affine& t, double x, double y, double* ox, double* oy) {
  *ox = t.m[0] * x + t.m[1] * y + t.m[2];
  *oy = t.m[3] * x + t.m[4] * y + t.m[5];
}
}  // namespace

TEST(plan_landscape_480x640) {
  const PreprocessPlan p = plan_preprocess(480, 640, 448);
  CHECK(p.height == 448);
  CHECK(p.width == 640);  // ceil(448 * 640 / 480 / 64) * 64
  CHECK_NEAR(p.center[0], 320, 0);
  CHECK_NEAR(p.center[1], 240, 0);
  CHECK_NEAR(p.scale[1], 2.4, 1e-12);
  CHECK_NEAR(p.scale[0], 640.0 / 448 * 480 / 200, 1e-12);
  double x, y;
  apply(p.to_input, 320, 240, &x, &y);  // center -> middle of the input
  CHECK_NEAR(x, 320, 1e-9);
  CHECK_NEAR(y, 224, 1e-9);
  apply(p.to_image, x, y, &x, &y);
  CHECK_NEAR(x, 320, 1e-9);
  CHECK_NEAR(y, 240, 1e-9);
}

TEST(plan_portrait_rounds_long_side_to_64) {
  const PreprocessPlan p = plan_preprocess(500, 333, 448);
  CHECK(p.width == 448);
  CHECK(p.height % 64 == 0);
  CHECK(p.height >= 448.0 * 500 / 333);
}

TEST(identity_warp_copies_pixels_and_swaps_channels) {
  // A 448x448 image needs no resize: the warp is the identity.
  const int S = 448;
  std::vector<uint8_t> img(static_cast<size_t>(S) * S * 3);
  for (int y = 0; y < S; ++y)
    for (int x = 0; x < S; ++x)
      for (int c = 0; c < 3; ++c) img[(static_cast<size_t>(y) * S + x) * 3 + c] = static_cast<uint8_t>((x * 7 + y * 3 + c * 50) & 255);
  const PreprocessPlan p = plan_preprocess(S, S, 448);
  CHECK(p.height == S && p.width == S);
  std::vector<float> out(3 * static_cast<size_t>(S) * S), out_rgb(out.size());
  preprocess(img.data(), S * 3, false, p, out.data());
  preprocess(img.data(), S * 3, true, p, out_rgb.data());
  int bad = 0;
  for (int y = 0; y < S; y += 7)
    for (int x = 0; x < S; x += 5)
      for (int c = 0; c < 3; ++c) {
        const size_t o = (static_cast<size_t>(c) * S + y) * S + x;
        const uint8_t* px = &img[(static_cast<size_t>(y) * S + x) * 3];
        bad += out[o] != norm(c, px[2 - c]);   // BGR input: R is byte 2
        bad += out_rgb[o] != norm(c, px[c]);
      }
  CHECK_MSG(bad == 0, bad << " pixels differ");
}

TEST(outside_the_image_is_zero_border) {
  // 100 x 990: the input is 448 x 4480 (990 * 4.48 = 4435 rounded up to a
  // multiple of 64), so the first and last columns lie beyond the source.
  std::vector<uint8_t> img(static_cast<size_t>(100) * 990 * 3, 200);
  const PreprocessPlan p = plan_preprocess(100, 990, 448);
  CHECK(p.width == 4480 && p.height == 448);
  std::vector<float> out(3 * static_cast<size_t>(p.height) * p.width);
  preprocess(img.data(), 990 * 3, false, p, out.data());
  const size_t plane = static_cast<size_t>(p.height) * p.width;
  const size_t mid = static_cast<size_t>(p.height / 2) * p.width;
  CHECK_NEAR(out[plane * 1 + mid + p.width / 2], norm(1, 200), 1e-6);
  CHECK_NEAR(out[mid], norm(0, 0), 1e-6);
  CHECK_NEAR(out[mid + p.width - 1], norm(0, 0), 1e-6);
}

TEST(bad_input_throws) {
  CHECK_THROWS(plan_preprocess(0, 10, 448));
  CHECK_THROWS(plan_preprocess(10, 100000, 448));
  CHECK_THROWS(plan_preprocess(10, 10, 0));
  std::vector<uint8_t> img(30);
  const PreprocessPlan p = plan_preprocess(2, 5, 64);
  std::vector<float> out(3 * static_cast<size_t>(p.height) * p.width);
  CHECK_THROWS(preprocess(img.data(), 10, false, p, out.data()));  // stride < 5*3
  CHECK_THROWS(preprocess(nullptr, 15, false, p, out.data()));
}

// The optimised pixel pass (interior fast path, branch-free floor and
// rounding) against the bounds-checked reference, bit for bit: image sizes
// from 1x1 up (every pixel a border pixel) to a real camera size, padded row
// strides, both channel orders, random pixels.
TEST(pixel_pass_equals_reference_bit_for_bit) {
  const int sizes[][2] = {{1, 1}, {1, 2}, {2, 1}, {2, 2}, {3, 5}, {7, 333}, {100, 990}, {333, 7},
                          {427, 640}, {480, 640}, {640, 480}, {448, 448}, {449, 447}, {64, 1000}};
  uint32_t seed = 12345;
  auto rnd = [&] { return seed = seed * 1664525u + 1013904223u; };
  int cases = 0;
  for (const auto& hw : sizes)
    for (int input : {64, 256, 448})
      for (int pad : {0, 5})
        for (bool rgb : {false, true}) {
          const int h = hw[0], w = hw[1];
          const PreprocessPlan p = plan_preprocess(h, w, input);
          // skip the extreme aspects at the larger inputs (2-10 M pixels:
          // minutes under qemu in the aarch64 lane, and no new path)
          if (static_cast<size_t>(p.height) * p.width > 700000) continue;
          const size_t stride = static_cast<size_t>(w) * 3 + pad;
          std::vector<uint8_t> img(stride * h);
          for (auto& v : img) v = static_cast<uint8_t>(rnd() >> 24);
          const size_t n = 3 * static_cast<size_t>(p.height) * p.width;
          std::vector<float> got(n, -99.f), want(n, 99.f);
          preprocess(img.data(), stride, rgb, p, got.data());
          reference::preprocess(img.data(), stride, rgb, p, want.data());
          size_t bad = 0, first = n;
          for (size_t i = 0; i < n; ++i)
            if (std::memcmp(&got[i], &want[i], sizeof(float)) != 0 && got[i] != want[i]) {
              ++bad;
              if (first == n) first = i;
            }
          CHECK_MSG(bad == 0, h << "x" << w << " input " << input << " pad " << pad << " rgb " << rgb << ": " << bad
                                 << " values differ, first at " << first);
          ++cases;
        }
  CHECK(cases == 35 * 4);  // 42 size/input pairs, 7 of them skipped
}
