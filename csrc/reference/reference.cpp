// Naive reference operators (tests only), see reference.h.
#include "reference/reference.h"

#include <algorithm>
#include <cmath>

namespace litepose::reference {

Result conv2d(const std::vector<float>& x, size_t ci, size_t h, size_t w, const std::vector<float>& weight,
              size_t co, int k, int stride, int pad, int groups, const std::vector<float>& bias) {
  Result r;
  r.c = co;
  r.h = (h + 2 * pad - k) / stride + 1;
  r.w = (w + 2 * pad - k) / stride + 1;
  const size_t cig = ci / groups, cog = co / groups;
  r.terms = cig * k * k + 1;
  r.value.assign(r.c * r.h * r.w, 0.0);
  r.abs_sum.assign(r.c * r.h * r.w, 0.0);
  for (size_t o = 0; o < co; ++o) {
    const size_t g = o / cog;
    for (size_t oy = 0; oy < r.h; ++oy)
      for (size_t ox = 0; ox < r.w; ++ox) {
        double acc = bias.empty() ? 0.0 : bias[o];
        double ab = std::fabs(acc);
        for (size_t i = 0; i < cig; ++i)
          for (int ky = 0; ky < k; ++ky)
            for (int kx = 0; kx < k; ++kx) {
              long iy = static_cast<long>(oy * stride) - pad + ky, ix = static_cast<long>(ox * stride) - pad + kx;
              if (iy < 0 || ix < 0 || iy >= static_cast<long>(h) || ix >= static_cast<long>(w)) continue;
              double t = static_cast<double>(weight[((o * cig + i) * k + ky) * k + kx]) *
                         x[((g * cig + i) * h + iy) * w + ix];
              acc += t;
              ab += std::fabs(t);
            }
        r.value[(o * r.h + oy) * r.w + ox] = acc;
        r.abs_sum[(o * r.h + oy) * r.w + ox] = ab;
      }
  }
  return r;
}

Result conv_transpose2d(const std::vector<float>& x, size_t ci, size_t h, size_t w,
                        const std::vector<float>& weight, size_t co, int k, int stride, int pad,
                        const std::vector<float>& bias) {
  Result r;
  r.c = co;
  r.h = (h - 1) * stride - 2 * pad + k;
  r.w = (w - 1) * stride - 2 * pad + k;
  r.terms = ci * k * k + 1;
  r.value.assign(r.c * r.h * r.w, 0.0);
  r.abs_sum.assign(r.c * r.h * r.w, 0.0);
  for (size_t o = 0; o < co; ++o)
    for (size_t i = 0; i < r.h * r.w; ++i) {
      r.value[o * r.h * r.w + i] = bias.empty() ? 0.0 : bias[o];
      r.abs_sum[o * r.h * r.w + i] = std::fabs(r.value[o * r.h * r.w + i]);
    }
  // scatter form, the definition of a transposed convolution
  for (size_t i = 0; i < ci; ++i)
    for (size_t iy = 0; iy < h; ++iy)
      for (size_t ix = 0; ix < w; ++ix) {
        const double v = x[(i * h + iy) * w + ix];
        for (size_t o = 0; o < co; ++o)
          for (int ky = 0; ky < k; ++ky)
            for (int kx = 0; kx < k; ++kx) {
              long oy = static_cast<long>(iy * stride) - pad + ky, ox = static_cast<long>(ix * stride) - pad + kx;
              if (oy < 0 || ox < 0 || oy >= static_cast<long>(r.h) || ox >= static_cast<long>(r.w)) continue;
              double t = v * weight[((i * co + o) * k + ky) * k + kx];
              r.value[(o * r.h + oy) * r.w + ox] += t;
              r.abs_sum[(o * r.h + oy) * r.w + ox] += std::fabs(t);
            }
      }
  return r;
}

void add_residual(Result& r, const std::vector<float>& residual) {
  for (size_t i = 0; i < r.value.size(); ++i) {
    r.value[i] += residual[i];
    r.abs_sum[i] += std::fabs(residual[i]);
  }
  r.terms += 1;
}

void clamp(Result& r, double lo, double hi) {
  for (auto& v : r.value) v = std::min(std::max(v, lo), hi);
}

double gamma(size_t n) {
  const double u = std::ldexp(1.0, -24);
  return n * u / (1.0 - n * u);
}

}  // namespace litepose::reference
