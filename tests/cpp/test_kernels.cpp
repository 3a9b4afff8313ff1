// Every kernel family, on every ISA this CPU supports, against the naive
// NCHW reference (csrc/reference) over named edge cases: channel counts
// below, at and above every vector width, odd spatial sizes, 1x1 images,
// stride 1 and 2, kernels 3/5/7, residual and in-place residual, clamps.
//
// Tolerance (derived, not guessed): each output is a float32 sum of n terms
// (bias, products, residual); in any summation order and with or without FMA
// |computed - exact| <= gamma_n * sum|terms|, gamma_n = n u / (1 - n u),
// u = 2^-24.  The reference computes exact-enough values and sum|terms| in
// double.  A wrong tap, offset or channel makes errors of the order of the
// terms themselves, many orders above this bound.
#include <cmath>
#include <limits>
#include <random>
#include <sstream>

#include "ops/deconv_pair.h"
#include "ops/dispatch.h"
#include "ops/ops.h"
#include "ops/pack.h"
#include "reference/reference.h"
#include "testing.h"

using namespace litepose;
namespace ref = litepose::reference;

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

using lptest::randn;

std::vector<float> to_nhwc(const std::vector<float>& x, size_t c, size_t h, size_t w) {
  std::vector<float> o(x.size());
  for (size_t ch = 0; ch < c; ++ch)
    for (size_t i = 0; i < h * w; ++i) o[i * c + ch] = x[ch * h * w + i];
  return o;
}

// Compares NHWC `got` with reference `r` (NCHW); returns number of bad values.
int compare(const std::vector<float>& got, const ref::Result& r, const std::string& what) {
  int bad = 0;
  const double g = ref::gamma(r.terms + 2);
  for (size_t c = 0; c < r.c; ++c)
    for (size_t y = 0; y < r.h; ++y)
      for (size_t x = 0; x < r.w; ++x) {
        size_t ri = (c * r.h + y) * r.w + x;
        double want = r.value[ri];
        double tol = g * r.abs_sum[ri] + 1e-30;
        double have = got[(y * r.w + x) * r.c + c];
        if (!(std::fabs(have - want) <= tol)) {
          if (bad < 3)
            std::fprintf(stderr, "  %s: mismatch at c=%zu y=%zu x=%zu: got %.9g want %.9g (tol %.3g)\n",
                         what.c_str(), c, y, x, have, want, tol);
          ++bad;
        }
      }
  return bad;
}

template <typename... T>
std::string desc(const ops::KernelSet& ks, const char* fmt, T... args) {
  char buf[256];
  std::snprintf(buf, sizeof buf, fmt, args...);
  return std::string(ks.isa) + " " + buf;
}

}  // namespace

TEST(kernel_sets_include_scalar_and_are_unique) {
  auto sets = ops::available_kernel_sets();
  CHECK(!sets.empty());
  CHECK(std::string(sets.back()->isa) == "scalar");
  for (size_t i = 0; i < sets.size(); ++i)
    for (size_t j = i + 1; j < sets.size(); ++j) CHECK(std::string(sets[i]->isa) != sets[j]->isa);
  CHECK_THROWS(ops::select_kernels("no-such-isa"));
}

TEST(layout_changes_are_exact_and_check_finiteness) {
  for (int threads : {1, 2, 3}) {
    ops::ThreadPool pool(threads);
    const size_t shapes[][3] = {{3, 1, 1}, {3, 5, 7}, {3, 17, 33}, {28, 9, 13}, {14, 64, 65}, {1, 3, 200}};
    for (auto& s : shapes) {
      const size_t c = s[0], h = s[1], w = s[2];
      auto x = randn(c * h * w, unsigned(c * 100 + h * 10 + w));
      std::vector<float> nhwc(x.size(), -1.f), back(x.size(), -1.f);
      bool finite = ops::nchw_to_nhwc(pool, x.data(), c, h, w, nhwc.data());
      CHECK(finite);
      CHECK(nhwc == to_nhwc(x, c, h, w));
      ops::nhwc_to_nchw(pool, nhwc.data(), h, w, c, back.data());
      CHECK(back == x);
      // a NaN or an infinity anywhere is reported (the copy still completes);
      // small inputs at every position (SIMD body and scalar tail alike)
      std::vector<size_t> ats = {0, x.size() / 2, x.size() - 1};
      if (x.size() <= 128)
        for (size_t i = 0; i < x.size(); ++i) ats.push_back(i);
      for (size_t at : ats)
        for (float bad : {std::nanf(""), kInf, -kInf}) {
          auto y = x;
          y[at] = bad;
          finite = ops::nchw_to_nhwc(pool, y.data(), c, h, w, nhwc.data());
          CHECK_MSG(!finite, "non-finite at " << at << " not reported, shape " << c << "x" << h << "x" << w);
        }
    }
  }
}

TEST(gemm_matches_reference_all_shapes) {
  for (const ops::KernelSet* ks : ops::available_kernel_sets()) {
    for (int threads : {1, 3}) {
      ops::ThreadPool pool(threads);
      for (size_t m : {1, 3, 4, 5, 7, 13, 31, 64, 99, 1031})
        for (size_t n : {1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 48, 120})
          for (size_t k : {1, 2, 7, 16, 17, 96, 145}) {
            // m = 99 (k >= 96) and 1031 span several A row blocks of the
            // AVX2 kernel (32 KB: 480 rows at k = 17, 54 at k = 145); 1031
            // only with 2-3 panels of n, to keep the lane under qemu short
            if (m == 1031 && ((n != 17 && n != 33) || (k != 17 && k != 145))) continue;
            // a 1x1 conv over an image of m x 1 pixels
            auto x = randn(k * m, 1 + m * 7 + n * 13 + k);
            auto wt = randn(n * k, 2 + n + k, 0.5f);
            auto bias = randn(n, 3 + n);
            auto res = randn(n * m, 4 + m);
            for (int mode = 0; mode < 3; ++mode) {  // 0 plain, 1 relu6, 2 residual in place
              auto packed = ops::pack_gemm_weights(wt.data(), bias.data(), n, k, ks->gemm_nr);
              auto xh = to_nhwc(x, k, m, 1);
              std::vector<float> out = mode == 2 ? to_nhwc(res, n, m, 1) : std::vector<float>(n * m, -7.f);
              float lo = mode == 1 ? 0.f : -kInf, hi = mode == 1 ? 6.f : kInf;
              ops::conv1x1(*ks, pool, m, k, n, xh.data(), packed.data(), out.data(),
                           mode == 2 ? out.data() : nullptr, lo, hi);
              auto r = ref::conv2d(x, k, m, 1, wt, n, 1, 1, 0, 1, bias);
              if (mode == 2) ref::add_residual(r, res);
              if (mode == 1) ref::clamp(r, 0, 6);
              auto what = desc(*ks, "gemm m=%zu n=%zu k=%zu mode=%d threads=%d", m, n, k, mode, threads);
              CHECK_MSG(compare(out, r, what) == 0, what);
            }
          }
    }
  }
}

namespace {
// ops::dwconv on an h x w x c input (k x k, stride s, ReLU6) against the
// naive reference convolution.
void check_dwconv(const ops::KernelSet& ks, ops::ThreadPool& pool, size_t h, size_t w, size_t c, int k, int s,
                  unsigned seed) {
  auto x = randn(c * h * w, seed);
  auto wt = randn(c * k * k, unsigned(c + k), 0.3f);
  auto bias = randn(c, unsigned(c * 3));
  auto packed = ops::pack_dwconv_weights(wt.data(), c, k);
  auto r = ref::conv2d(x, c, h, w, wt, c, k, s, k / 2, static_cast<int>(c), bias);
  ref::clamp(r, 0, 6);
  kernels::DwConvParams p{h, w, c, r.h, r.w, k, s, k / 2, 0.f, 6.f};
  std::vector<float> out(r.h * r.w * c, -7.f);
  auto xh = to_nhwc(x, c, h, w);
  ops::dwconv(ks, pool, p, xh.data(), packed.data(), bias.data(), out.data());
  auto what = desc(ks, "dwconv %zux%zu c=%zu k=%d s=%d threads=%d", h, w, c, k, s, pool.num_threads());
  CHECK_MSG(compare(out, r, what) == 0, what);
}
}  // namespace

TEST(dwconv_matches_reference_odd_sizes_strides_kernels) {
  const size_t sizes[][2] = {{1, 1}, {2, 3}, {7, 7}, {15, 7}, {18, 17}, {25, 33}, {4, 40}};
  for (const ops::KernelSet* ks : ops::available_kernel_sets()) {
    ops::ThreadPool pool(2);
    for (auto& hw : sizes)
      for (size_t c : {1, 3, 4, 8, 15, 16, 17, 31, 32, 33, 48, 49, 96})
        for (int k : {3, 5, 7})
          for (int s : {1, 2}) check_dwconv(*ks, pool, hw[0], hw[1], c, k, s, unsigned(hw[0] * 131 + hw[1] * 7 + c + k + s));
  }
}

TEST(dwconv_row_groups_cover_every_row_for_any_thread_count) {
  // ops::dwconv cuts each thread's share of rows into pieces of whole row
  // groups (ops::dwconv_row_group: 3 rows on AVX-512 at stride 1 with k >=
  // 5, 2 otherwise): heights 3m, 3m+1, 3m+2 over 1-5 threads, every row must
  // come out once and right
  for (const ops::KernelSet* ks : ops::available_kernel_sets())
    for (int threads = 1; threads <= 5; ++threads) {
      ops::ThreadPool pool(threads);
      for (size_t h : {2, 4, 5, 10, 16, 17, 28})
        for (size_t c : {17, 96})
          for (int k : {3, 5, 7})
            for (int s : {1, 2}) check_dwconv(*ks, pool, h, 6, c, k, s, unsigned(h * 17 + c + k + s));
    }
  for (const ops::KernelSet* ks : ops::available_kernel_sets()) {
    CHECK(ops::dwconv_row_group(*ks, 3, 1) <= 2 && ops::dwconv_row_group(*ks, 7, 2) <= 2);
    CHECK(ops::dwconv_row_group(*ks, 7, 1) == ks->dwconv_rows);
  }
}

TEST(dwconv_channel_slice_reads_and_writes_only_its_channels) {
  // DwConvParams::pixel_stride: the slice [c0, c0 + cn) of tensors with ld
  // channels per pixel (the channel-split fused block computes its share of
  // the hidden channels this way).  Input and weight channels outside the
  // slice hold NaN: if any reached an output the comparison fails; output
  // channels outside the slice must keep their sentinel.
  const size_t sizes[][2] = {{1, 1}, {7, 7}, {10, 9}, {4, 40}};
  const size_t slices[][3] = {{40, 0, 17}, {40, 8, 32}, {64, 16, 48}, {100, 32, 35}, {100, 96, 4}, {720, 352, 368}};
  const float nan = std::nanf("");
  for (const ops::KernelSet* ks : ops::available_kernel_sets()) {
    ops::ThreadPool pool(2);
    for (auto& hw : sizes)
      for (auto& sl : slices)
        for (int k : {3, 5, 7})
          for (int s : {1, 2}) {
            const size_t h = hw[0], w = hw[1], ld = sl[0], c0 = sl[1], cn = sl[2];
            if (ld == 720 && (h > 7 || k != 7)) continue;  // one wide case, kept small for qemu
            const unsigned seed = unsigned(h * 131 + w + ld + c0 + k + s);
            auto x = randn(cn * h * w, seed);
            auto wt = randn(cn * k * k, seed + 1, 0.3f);
            auto bias = randn(cn, seed + 2);
            auto r = ref::conv2d(x, cn, h, w, wt, cn, k, s, k / 2, static_cast<int>(cn), bias);
            ref::clamp(r, 0, 6);
            // the slice's data inside ld-channel tensors, NaN elsewhere
            auto xs = to_nhwc(x, cn, h, w);
            auto ws = ops::pack_dwconv_weights(wt.data(), cn, k);
            std::vector<float> xw(h * w * ld, nan), ww(size_t(k * k) * ld, nan), bw(ld, nan);
            for (size_t i = 0; i < h * w; ++i)
              for (size_t c = 0; c < cn; ++c) xw[i * ld + c0 + c] = xs[i * cn + c];
            for (size_t t = 0; t < size_t(k * k); ++t)
              for (size_t c = 0; c < cn; ++c) ww[t * ld + c0 + c] = ws.data()[t * cn + c];
            for (size_t c = 0; c < cn; ++c) bw[c0 + c] = bias[c];
            kernels::DwConvParams p{h, w, cn, r.h, r.w, k, s, k / 2, 0.f, 6.f};
            p.pixel_stride = ld;
            std::vector<float> outw(r.h * r.w * ld, -7.f);
            ops::dwconv(*ks, pool, p, xw.data() + c0, ww.data() + c0, bw.data() + c0, outw.data() + c0);
            std::vector<float> got(r.h * r.w * cn);
            int outside = 0;
            for (size_t i = 0; i < r.h * r.w; ++i)
              for (size_t c = 0; c < ld; ++c) {
                if (c >= c0 && c < c0 + cn) got[i * cn + c - c0] = outw[i * ld + c];
                else outside += outw[i * ld + c] != -7.f;
              }
            auto what = desc(*ks, "dwconv slice %zux%zu ld=%zu c0=%zu cn=%zu k=%d s=%d", h, w, ld, c0, cn, k, s);
            CHECK_MSG(compare(got, r, what) == 0, what);
            CHECK_MSG(outside == 0, what << ": " << outside << " values outside the slice written");
          }
  }
}

TEST(deconv_matches_reference_and_accumulates) {
  const size_t sizes[][2] = {{1, 1}, {2, 3}, {7, 5}, {15, 7}, {4, 9}};
  for (const ops::KernelSet* ks : ops::available_kernel_sets()) {
    ops::ThreadPool pool(3);
    for (auto& hw : sizes)
      for (size_t ci : {1, 3, 16, 17, 40})
        for (size_t co : {1, 8, 15, 16, 17, 33, 64}) {
          const size_t h = hw[0], w = hw[1];
          auto x1 = randn(ci * h * w, unsigned(h * 17 + w + ci * 5 + co));
          auto x2 = randn(ci * h * w, unsigned(h * 19 + w + ci * 3 + co));
          auto w1 = randn(ci * co * 16, unsigned(ci + co), 0.3f);
          auto w2 = randn(ci * co * 16, unsigned(ci + co + 1), 0.3f);
          auto bias = randn(co, unsigned(co));
          auto p1 = ops::pack_deconv_weights(w1.data(), ci, co);
          auto p2 = ops::pack_deconv_weights(w2.data(), ci, co);
          // out = relu(deconv(x1, w1) + bias + deconv(x2, w2)), as the head computes it:
          // the direct kernels (the pair without Winograd weights: refined
          // with the bias, then raw accumulated and clamped)
          std::vector<float> out(4 * h * w * co, -7.f);
          auto x1h = to_nhwc(x1, ci, h, w), x2h = to_nhwc(x2, ci, h, w);
          const auto dp = ops::deconv_pair_params(h, w, ci, ci, co, 0.f, kInf);
          ops::deconv_pair(*ks, pool, dp, {p1.data(), bias.data(), p2.data(), nullptr}, x1h.data(), x2h.data(),
                           out.data(), nullptr);
          auto r1 = ref::conv_transpose2d(x1, ci, h, w, w1, co, 4, 2, 1, bias);
          auto r2 = ref::conv_transpose2d(x2, ci, h, w, w2, co, 4, 2, 1, {});
          for (size_t i = 0; i < r1.value.size(); ++i) {
            r1.value[i] += r2.value[i];
            r1.abs_sum[i] += r2.abs_sum[i];
          }
          r1.terms += r2.terms;
          ref::clamp(r1, 0, 1e300);
          auto what = desc(*ks, "deconv %zux%zu ci=%zu co=%zu", h, w, ci, co);
          CHECK_MSG(compare(out, r1, what) == 0, what);
        }
  }
}

// The head's deconvolution pair through Winograd F(3x3, 2x2)
// (ops/deconv_pair.h) against the naive transposed convolutions.
//
// Tolerance (derived): besides the direct kernels' bound, the Winograd path
// rounds in the input transform (sums of <= 4 inputs), the transformed
// weights (U rounded once to float from double), the GEMM over the K input
// channels and the output transform (sums of <= 9 products + bias), so
// |computed - exact| <= gamma_{K + 16} * S with
//   S = |bias| + sum_k |A^T| (|G| |g_k| |G^T| . |B^T| |d_k| |B|) |A|,
// the same expression over absolute values (Higham's bound for a sum of
// products taken through every rounding step).  A wrong transform entry,
// tap or window makes errors of the order of the terms.
namespace {

// S of every output of the pair [co][2h][2w] (NCHW), from |U| and |V|
// tabulated once per (input, phase, position, channel) and per tile.
std::vector<double> wino_abs_sums(const std::vector<float>& x1, const std::vector<float>& x2, size_t ci, size_t h,
                                  size_t w, const std::vector<float>& w1, const std::vector<float>& w2, size_t co,
                                  const std::vector<float>& bias) {
  static const double G[4][2] = {{1, 0}, {0.5, 0.5}, {0.5, 0.5}, {0, 1}};                   // |G|
  static const double BT[4][4] = {{1, 0, 1, 0}, {0, 1, 1, 0}, {0, 1, 1, 0}, {0, 1, 0, 1}};  // |B^T|
  static const double AT[3][4] = {{1, 1, 1, 0}, {0, 1, 1, 0}, {0, 1, 1, 1}};               // |A^T|
  const size_t th = (h + 2) / 3, tw = (w + 2) / 3;
  // u[part][ph][pq][k][c], v[part][ph][tile][pq][k]
  std::vector<double> u(2 * 4 * 16 * ci * co), v(2 * 4 * th * tw * 16 * ci);
  for (int part = 0; part < 2; ++part)
    for (int ph = 0; ph < 4; ++ph) {
      const int py = ph >> 1, px = ph & 1;
      const std::vector<float>& x = part ? x2 : x1;
      const std::vector<float>& wt = part ? w2 : w1;  // [ci][co][4][4]
      for (size_t k = 0; k < ci; ++k)
        for (size_t c = 0; c < co; ++c) {
          double g[2][2];
          for (int a = 0; a < 2; ++a)
            for (int b = 0; b < 2; ++b) {
              // tap a (0: the lower input row) of phase py is kernel row
              // 3 - py - 2a (kernels.h: ty = 1 - a)
              const int ky = 3 - py - 2 * a, kx = 3 - px - 2 * b;
              g[a][b] = std::fabs(wt[((k * co + c) * 4 + static_cast<size_t>(ky)) * 4 + static_cast<size_t>(kx)]);
            }
          for (int pq = 0; pq < 16; ++pq) {
            double s = 0;
            for (int a = 0; a < 2; ++a)
              for (int b = 0; b < 2; ++b) s += G[pq / 4][a] * G[pq % 4][b] * g[a][b];
            u[(((static_cast<size_t>(part) * 4 + ph) * 16 + pq) * ci + k) * co + c] = s;
          }
        }
      for (size_t ty = 0; ty < th; ++ty)
        for (size_t tx = 0; tx < tw; ++tx)
          for (size_t k = 0; k < ci; ++k) {
            double d[4][4];
            for (int a = 0; a < 4; ++a)
              for (int b = 0; b < 4; ++b) {
                const long iy = static_cast<long>(3 * ty) - 1 + py + a, ix = static_cast<long>(3 * tx) - 1 + px + b;
                d[a][b] = iy >= 0 && iy < static_cast<long>(h) && ix >= 0 && ix < static_cast<long>(w)
                              ? std::fabs(x[(k * h + static_cast<size_t>(iy)) * w + static_cast<size_t>(ix)])
                              : 0.0;
              }
            for (int pq = 0; pq < 16; ++pq) {
              double s = 0;
              for (int a = 0; a < 4; ++a)
                for (int b = 0; b < 4; ++b) s += BT[pq / 4][a] * BT[pq % 4][b] * d[a][b];
              v[((((static_cast<size_t>(part) * 4 + ph) * th + ty) * tw + tx) * 16 + pq) * ci + k] = s;
            }
          }
    }
  std::vector<double> out(co * 4 * h * w);
  for (size_t c = 0; c < co; ++c)
    for (size_t oy = 0; oy < 2 * h; ++oy)
      for (size_t ox = 0; ox < 2 * w; ++ox) {
        const int py = static_cast<int>(oy & 1), px = static_cast<int>(ox & 1), ph = 2 * py + px;
        const size_t m = oy / 2, n = ox / 2, ty = m / 3, tx = n / 3;
        const size_t i = m % 3, j = n % 3;
        double s = std::fabs(bias[c]);
        for (size_t part = 0; part < 2; ++part)
          for (int pq = 0; pq < 16; ++pq) {
            const double a = AT[i][pq / 4] * AT[j][pq % 4];
            if (a == 0) continue;
            const size_t ph_ = part * 4 + static_cast<size_t>(ph), pq_ = static_cast<size_t>(pq);
            const double* up = &u[((ph_ * 16 + pq_) * ci) * co + c];
            const double* vp = &v[(((ph_ * th + ty) * tw + tx) * 16 + pq_) * ci];
            double t = 0;
            for (size_t k = 0; k < ci; ++k) t += up[k * co] * vp[k];
            s += a * t;
          }
        out[(c * 2 * h + oy) * 2 * w + ox] = s;
      }
  return out;
}

}  // namespace

TEST(deconv_pair_winograd_matches_reference) {
  // sizes: below one tile, not multiples of 3, 2H not a multiple of 6 (the
  // last rows run direct), wide enough for interior tiles
  const size_t sizes[][2] = {{1, 1}, {2, 3}, {3, 3}, {4, 5}, {7, 11}, {9, 10}, {12, 13}, {6, 16}};
  for (auto& hw : sizes)
    for (size_t ci : {1, 5, 16, 24})
      for (size_t co : {1, 8, 17, 32, 40}) {
        const size_t h = hw[0], w = hw[1];
        auto x1 = randn(ci * h * w, unsigned(h * 31 + w + ci * 7 + co));
        auto x2 = randn(ci * h * w, unsigned(h * 37 + w + ci * 11 + co));
        auto w1 = randn(ci * co * 16, unsigned(ci + co + 5), 0.3f);
        auto w2 = randn(ci * co * 16, unsigned(ci + co + 6), 0.3f);
        auto bias = randn(co, unsigned(co + 1));
        // exact values and tolerances, once for every ISA
        auto r1 = ref::conv_transpose2d(x1, ci, h, w, w1, co, 4, 2, 1, bias);
        auto r2 = ref::conv_transpose2d(x2, ci, h, w, w2, co, 4, 2, 1, {});
        const double gd = ref::gamma(r1.terms + r2.terms + 2), gw = ref::gamma(2 * ci + 16);
        const std::vector<double> sw = wino_abs_sums(x1, x2, ci, h, w, w1, w2, co, bias);
        std::vector<double> want(r1.value.size()), tol(r1.value.size());
        for (size_t ri = 0; ri < want.size(); ++ri) {
          want[ri] = std::max(0.0, r1.value[ri] + r2.value[ri]);
          tol[ri] = std::max(gd * (r1.abs_sum[ri] + r2.abs_sum[ri]), gw * sw[ri]) + 1e-30;
        }
        auto p1 = ops::pack_deconv_weights(w1.data(), ci, co);
        auto p2 = ops::pack_deconv_weights(w2.data(), ci, co);
        auto x1h = to_nhwc(x1, ci, h, w), x2h = to_nhwc(x2, ci, h, w);
        const auto dp = ops::deconv_pair_params(h, w, ci, ci, co, 0.f, kInf);
        const size_t per = ops::deconv_pair_scratch_floats(dp);
        for (const ops::KernelSet* ks : ops::available_kernel_sets()) {
          ops::ThreadPool pool(3);
          auto pw = ops::pack_deconv_wino_weights(p1.data(), ci, p2.data(), ci, co, ks->gemm_nr);
          const ops::DeconvPairWeights dw{p1.data(), bias.data(), p2.data(), pw.data()};
          std::vector<float> scratch(per * 3), out(4 * h * w * co, -7.f);
          ops::deconv_pair(*ks, pool, dp, dw, x1h.data(), x2h.data(), out.data(), scratch.data());
          auto what = desc(*ks, "deconv pair winograd %zux%zu ci=%zu co=%zu", h, w, ci, co);
          int bad = 0;
          for (size_t c = 0; c < co; ++c)
            for (size_t y = 0; y < 2 * h; ++y)
              for (size_t x = 0; x < 2 * w; ++x) {
                const size_t ri = (c * 2 * h + y) * 2 * w + x;
                const double have = out[(y * 2 * w + x) * co + c];
                if (!(std::fabs(have - want[ri]) <= tol[ri])) {
                  if (bad < 3)
                    std::fprintf(stderr, "  %s: c=%zu y=%zu x=%zu got %.9g want %.9g tol %.3g\n", what.c_str(), c, y,
                                 x, have, want[ri], tol[ri]);
                  ++bad;
                }
              }
          CHECK_MSG(bad == 0, what);
          // the same bits for any split into row ranges (threads, the fused
          // tail's bands): ragged ranges, one row at a time
          std::vector<float> out2(out.size(), -7.f);
          for (size_t y0 = 0; y0 < 2 * h;) {
            const size_t y1 = std::min(2 * h, y0 + 1 + (y0 * 7) % 5);
            ops::deconv_pair_rows(*ks, dp, dw, x1h.data(), x2h.data(), out2.data(), y0, y1, scratch.data());
            y0 = y1;
          }
          CHECK_MSG(out2 == out, what + ": ragged row ranges differ");
        }
      }
}

TEST(conv_stem_matches_reference) {
  const size_t sizes[][2] = {{1, 1}, {2, 2}, {15, 7}, {18, 17}, {16, 16}, {33, 25}};
  for (const ops::KernelSet* ks : ops::available_kernel_sets()) {
    ops::ThreadPool pool(2);
    for (auto& hw : sizes)
      for (size_t ci : {1, 3, 4})
        for (size_t co : {1, 8, 16, 17, 32, 33})
          for (int s : {1, 2})
            for (int k : {3, 5}) {
              const size_t h = hw[0], w = hw[1];
              auto x = randn(ci * h * w, unsigned(h + w * 3 + ci + co * 7 + s));
              auto wt = randn(co * ci * k * k, unsigned(co + ci), 0.3f);
              auto bias = randn(co, unsigned(co + 5));
              auto packed = ops::pack_conv_weights(wt.data(), co, ci, k);
              auto r = ref::conv2d(x, ci, h, w, wt, co, k, s, k / 2, 1, bias);
              ref::clamp(r, 0, 6);
              kernels::ConvParams p{h, w, ci, co, r.h, r.w, k, s, k / 2, 0.f, 6.f};
              std::vector<float> out(r.h * r.w * co, -7.f);
              auto xh = to_nhwc(x, ci, h, w);
              ops::conv(*ks, pool, p, xh.data(), packed.data(), bias.data(), out.data());
              auto what = desc(*ks, "conv %zux%zu ci=%zu co=%zu s=%d k=%d", h, w, ci, co, s, k);
              CHECK_MSG(compare(out, r, what) == 0, what);
            }
  }
}

TEST(threadpool_runs_every_task_once) {
  for (int threads : {1, 2, 5}) {
    ops::ThreadPool pool(threads);
    for (size_t n : {0, 1, 2, 7, 100, 1000}) {
      std::vector<int> hits(n, 0);
      pool.parallel_for(n, [&](size_t i, int) { hits[i]++; });
      bool ok = true;
      for (int h : hits) ok = ok && h == 1;
      CHECK_MSG(ok, "threads=" << threads << " n=" << n);
    }
  }
  CHECK_THROWS(ops::ThreadPool(0));
  CHECK_THROWS(ops::ThreadPool(-3));
}
