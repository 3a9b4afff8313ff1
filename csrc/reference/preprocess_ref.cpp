// The pixel pass of litepose::preprocess written the obvious way, one pixel
// and one channel at a time with every tap bounds-checked (the product's
// first implementation).  Tests hold the optimised pass to it bit for bit.
// Built, like csrc/image/preprocess.cpp, with -ffp-contract=off.
#include <cmath>

#include "reference/reference.h"

namespace litepose::reference {

void preprocess(const uint8_t* image, size_t row_stride, bool rgb, const PreprocessPlan& plan, float* out) {
  const int ih = plan.image_height, iw = plan.image_width;
  const double* M = plan.to_input.m;
  double D = M[0] * M[4] - M[1] * M[3];
  D = D != 0 ? 1. / D : 0;
  const double A11 = M[4] * D, A22 = M[0] * D, A12 = -M[1] * D, A21 = -M[3] * D;
  const double b1 = -A11 * M[2] - A12 * M[5];
  const double b2 = -A21 * M[2] - A22 * M[5];
  const int H = plan.height, W = plan.width;
  const size_t plane = static_cast<size_t>(H) * W;
  const float mean[3] = {0.485f, 0.456f, 0.406f}, stdv[3] = {0.229f, 0.224f, 0.225f};
  const int src_c[3] = {rgb ? 0 : 2, 1, rgb ? 2 : 0};
  const float fA11 = static_cast<float>(A11), fA12 = static_cast<float>(A12);
  const float fA21 = static_cast<float>(A21), fA22 = static_cast<float>(A22);
  const float fb1 = static_cast<float>(b1), fb2 = static_cast<float>(b2);
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      const float sx = fA11 * static_cast<float>(x) + fA12 * static_cast<float>(y) + fb1;
      const float sy = fA21 * static_cast<float>(x) + fA22 * static_cast<float>(y) + fb2;
      const float fx0 = std::floor(sx), fy0 = std::floor(sy);
      const bool inside = fx0 >= -1 && fx0 < iw && fy0 >= -1 && fy0 < ih;
      const int x0 = inside ? static_cast<int>(fx0) : 0, y0 = inside ? static_cast<int>(fy0) : 0;
      const float ax = sx - fx0, ay = sy - fy0;
      for (int c = 0; c < 3; ++c) {
        auto px = [&](int yy, int xx) -> float {
          if (!inside || yy < 0 || yy >= ih || xx < 0 || xx >= iw) return 0.f;
          return image[static_cast<size_t>(yy) * row_stride + static_cast<size_t>(xx) * 3 + src_c[c]];
        };
        const float w00 = (1 - ax) * (1 - ay), w01 = ax * (1 - ay), w10 = (1 - ax) * ay, w11 = ax * ay;
        float r = inside ? std::nearbyint(px(y0, x0) * w00 + px(y0, x0 + 1) * w01 + px(y0 + 1, x0) * w10 +
                                          px(y0 + 1, x0 + 1) * w11)
                         : 0.f;
        r = r < 0 ? 0 : (r > 255 ? 255 : r);
        out[plane * c + static_cast<size_t>(y) * W + x] = (r / 255.0f - mean[c]) / stdv[c];
      }
    }
}

}  // namespace litepose::reference
