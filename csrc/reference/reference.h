// Naive reference operators, NCHW, double accumulation — for tests only.
// They are written for obviousness, not speed, straight from the PyTorch
// definitions of Conv2d (groups) and ConvTranspose2d.  Each also returns, per
// output, the sum of |terms| so tests can derive a rigorous rounding bound:
// |fl(sum) - sum| <= gamma_n * sum|terms|, gamma_n = n*u / (1 - n*u).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "litepose/preprocess.h"

namespace litepose::reference {

struct Result {
  std::vector<double> value;   // [C][H][W]
  std::vector<double> abs_sum; // [C][H][W]: bias + sum |w * x| (+ |residual|)
  size_t c = 0, h = 0, w = 0;
  size_t terms = 0;            // reduction length per output (upper bound)
};

// x [ci][h][w], weight [co][ci/groups][k][k], bias [co] or empty.
Result conv2d(const std::vector<float>& x, size_t ci, size_t h, size_t w, const std::vector<float>& weight,
              size_t co, int k, int stride, int pad, int groups, const std::vector<float>& bias);

// x [ci][h][w], weight [ci][co][k][k] (PyTorch ConvTranspose2d), no groups.
Result conv_transpose2d(const std::vector<float>& x, size_t ci, size_t h, size_t w,
                        const std::vector<float>& weight, size_t co, int k, int stride, int pad,
                        const std::vector<float>& bias);

// In place: value = clamp(value + residual); abs_sum += |residual|.
void add_residual(Result& r, const std::vector<float>& residual);
void clamp(Result& r, double lo, double hi);

// gamma_n = n u / (1 - n u) with u = 2^-24 (float32 unit roundoff).
double gamma(size_t n);

// litepose::preprocess's pixel pass, one bounds-checked tap at a time
// (preprocess_ref.cpp); same plan, same output layout.
void preprocess(const uint8_t* image, size_t row_stride, bool rgb, const PreprocessPlan& plan, float* out);

}  // namespace litepose::reference
