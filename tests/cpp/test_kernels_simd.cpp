// Microkernels called directly (no ops layer), on every kernel set the CPU
// supports, with what the ops layer never exercises:
//   - buffers that end exactly at a PROT_NONE guard page (or start right
//     after one), so any read or write past an activation buffer faults at
//     once, including the masked channel tails and border taps;
//   - gemm with row strides larger than the row (a, c, residual), called on
//     sub-row ranges, c aliasing r in place, sentinels in the stride gaps;
//   - dwconv / deconv / conv called on row ranges [oy0, oy1) in pieces (odd
//     starts for the deconv's phase rows), rows outside untouched;
//   - channel counts around every vector and group width (1..8, 15..17,
//     24, 40 = zmm+zmm+ymm, 72, 144) and images narrower than the kernel.
// The expected values are naive NHWC loops in double, with the same derived
// rounding bound as test_kernels.cpp: |got - exact| <= gamma_{n+2} sum|terms|.
#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/kernels.h"
#include "ops/dispatch.h"
#include "ops/pack.h"
#include "reference/reference.h"
#include "testing.h"

using namespace litepose;

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kSentinel = -12345.f;

// n floats in their own mapping, ending exactly at (tail) or starting right
// after (head) an inaccessible page.
class Guarded {
 public:
  enum Side { kTail, kHead };
  Guarded(size_t n, Side side = kTail) : n_(n) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const size_t data = (std::max<size_t>(n, 1) * sizeof(float) + page - 1) / page * page;
    bytes_ = data + page;
    void* p = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    base_ = static_cast<char*>(p);
    if (side == kTail) {
      mprotect(base_ + data, page, PROT_NONE);
      ptr_ = reinterpret_cast<float*>(base_ + data - n * sizeof(float));
    } else {
      mprotect(base_, page, PROT_NONE);
      ptr_ = reinterpret_cast<float*>(base_ + page);
    }
  }
  ~Guarded() { munmap(base_, bytes_); }
  Guarded(const Guarded&) = delete;
  Guarded& operator=(const Guarded&) = delete;
  float* data() { return ptr_; }
  float& operator[](size_t i) { return ptr_[i]; }
  size_t size() const { return n_; }
  void fill(float v) { std::fill(ptr_, ptr_ + n_, v); }
  void fill_randn(unsigned seed, float scale = 1.f) {
    std::mt19937 g(seed);
    std::normal_distribution<float> d(0.f, scale);
    for (size_t i = 0; i < n_; ++i) ptr_[i] = d(g);
  }

 private:
  char* base_ = nullptr;
  float* ptr_ = nullptr;
  size_t n_, bytes_ = 0;
};

using lptest::randn;

struct Want {
  double value = 0, abs = 0;
  void add(double t) {
    value += t;
    abs += std::fabs(t);
  }
};

bool close(float got, const Want& w, size_t terms, double lo, double hi) {
  const double v = std::min(std::max(w.value, lo), hi);
  return std::fabs(double(got) - v) <= reference::gamma(terms + 2) * w.abs + 1e-30;
}

std::vector<const ops::KernelSet*> sets() { return ops::available_kernel_sets(); }

}  // namespace

TEST(gemm_direct_strided_subranges_inplace_guarded) {
  for (const ops::KernelSet* ks : sets()) {
    for (size_t m : {1, 2, 5, 8, 13, 17})
      for (size_t n : {1, 3, 8, 15, 16, 17, 24, 31, 33, 40, 64, 72})
        for (size_t k : {1, 3, 16, 33})
          for (int inplace = 0; inplace < 2; ++inplace) {
            const size_t as = k + 3, cs = n + 5;
            Guarded a((m - 1) * as + k), c((m - 1) * cs + n);
            a.fill_randn(unsigned(m * 100 + n * 10 + k));
            c.fill(kSentinel);
            auto w = randn(n * k, unsigned(n + k), 0.5f), bias = randn(n, unsigned(n));
            auto res = randn(m * n, unsigned(m + 7));
            if (inplace)
              for (size_t i = 0; i < m; ++i)
                for (size_t j = 0; j < n; ++j) c[i * cs + j] = res[i * n + j];
            auto packed = ops::pack_gemm_weights(w.data(), bias.data(), n, k, ks->gemm_nr);
            const float lo = inplace ? -kInf : -0.5f, hi = inplace ? kInf : 1.5f;
            // two calls on row sub-ranges [0, m1) and [m1, m)
            const size_t m1 = m / 2;
            for (auto [r0, r1] : {std::pair<size_t, size_t>{0, m1}, {m1, m}}) {
              if (r1 == r0) continue;
              ks->gemm(r1 - r0, n, k, a.data() + r0 * as, as, packed.data(), c.data() + r0 * cs, cs,
                       inplace ? c.data() + r0 * cs : nullptr, cs, lo, hi);
            }
            int bad = 0;
            for (size_t i = 0; i < m; ++i) {
              for (size_t j = 0; j < n; ++j) {
                Want want;
                want.add(bias[j]);
                for (size_t kk = 0; kk < k; ++kk) want.add(double(a[i * as + kk]) * w[j * k + kk]);
                if (inplace) want.add(res[i * n + j]);
                if (!close(c[i * cs + j], want, k + 1, lo, hi)) ++bad;
              }
              if (i + 1 < m)
                for (size_t j = n; j < cs; ++j) bad += c[i * cs + j] != kSentinel;
            }
            CHECK_MSG(bad == 0, ks->isa << " gemm m=" << m << " n=" << n << " k=" << k << " inplace=" << inplace
                                        << ": " << bad << " bad");
          }
  }
}

namespace {

// Runs `call(oy0, oy1)` over [0, oh) in the given pieces.
template <typename F>
void in_pieces(size_t oh, std::initializer_list<size_t> cuts, F&& call) {
  size_t prev = 0;
  for (size_t c : cuts) {
    if (c > prev && c < oh) {
      call(prev, c);
      prev = c;
    }
  }
  if (prev < oh) call(prev, oh);
}

}  // namespace

TEST(dwconv_direct_row_ranges_guarded) {
  // widths 8, 16, 28: whole first and last blocks of a row (K/2 columns outside)
  const size_t sizes[][2] = {{1, 1}, {3, 2}, {6, 5}, {9, 13}, {10, 4}, {12, 30}, {14, 3}, {5, 8}, {3, 16}, {7, 28}};
  for (const ops::KernelSet* ks : sets())
    for (auto& hw : sizes)
      for (size_t c : {1, 5, 8, 16, 17, 24, 40, 144})
        for (int k : {3, 5, 7})
          for (int s : {1, 2})
            for (int side = 0; side < 2; ++side) {
              const size_t h = hw[0], wd = hw[1], pad = k / 2;
              const size_t oh = (h + 2 * pad - k) / s + 1, ow = (wd + 2 * pad - k) / s + 1;
              Guarded in(h * wd * c, side ? Guarded::kHead : Guarded::kTail), out(oh * ow * c, side ? Guarded::kHead : Guarded::kTail);
              in.fill_randn(unsigned(h * 7 + wd + c + k));
              out.fill(kSentinel);
              auto w = randn(c * k * k, unsigned(c + k), 0.3f), bias = randn(c, unsigned(c));
              auto packed = ops::pack_dwconv_weights(w.data(), c, k);
              kernels::DwConvParams p{h, wd, c, oh, ow, k, s, static_cast<int>(pad), 0.f, 6.f};
              // a middle range alone first: everything else must stay untouched
              const size_t mid0 = oh / 3, mid1 = (2 * oh + 2) / 3;
              int bad = 0;
              if (mid1 > mid0) {
                ks->dwconv(p, in.data(), packed.data(), bias.data(), out.data(), mid0, mid1);
                for (size_t i = 0; i < mid0 * ow * c; ++i) bad += out[i] != kSentinel;
                for (size_t i = mid1 * ow * c; i < oh * ow * c; ++i) bad += out[i] != kSentinel;
              }
              in_pieces(oh, {1, mid0, mid1}, [&](size_t a, size_t b) {
                ks->dwconv(p, in.data(), packed.data(), bias.data(), out.data(), a, b);
              });
              for (size_t oy = 0; oy < oh; ++oy)
                for (size_t ox = 0; ox < ow; ++ox)
                  for (size_t ch = 0; ch < c; ++ch) {
                    Want want;
                    want.add(bias[ch]);
                    for (int ky = 0; ky < k; ++ky)
                      for (int kx = 0; kx < k; ++kx) {
                        const long iy = long(oy) * s - long(pad) + ky, ix = long(ox) * s - long(pad) + kx;
                        if (iy < 0 || ix < 0 || iy >= long(h) || ix >= long(wd)) continue;
                        want.add(double(in[(size_t(iy) * wd + size_t(ix)) * c + ch]) * w[ch * k * k + ky * k + kx]);
                      }
                    if (!close(out[(oy * ow + ox) * c + ch], want, size_t(k * k), 0, 6)) ++bad;
                  }
              CHECK_MSG(bad == 0, ks->isa << " dwconv " << h << "x" << wd << " c=" << c << " k=" << k << " s=" << s
                                          << " side=" << side << ": " << bad << " bad");
            }
}

TEST(deconv_direct_row_ranges_guarded) {
  const size_t sizes[][2] = {{1, 1}, {1, 4}, {3, 2}, {5, 9}, {4, 14}};
  for (const ops::KernelSet* ks : sets())
    for (auto& hw : sizes)
      for (size_t ci : {1, 5, 24})
        for (size_t co : {1, 7, 8, 16, 17, 24, 32, 33, 40, 48, 56, 64, 72, 80, 96, 100, 127})
          for (int acc = 0; acc < 2; ++acc) {
            const size_t h = hw[0], wd = hw[1], oh = 2 * h, ow = 2 * wd;
            Guarded in(h * wd * ci), out(oh * ow * co);
            in.fill_randn(unsigned(h * 3 + wd + ci * 5 + co));
            auto prior = randn(oh * ow * co, unsigned(co * 11 + h));
            for (size_t i = 0; i < out.size(); ++i) out[i] = acc ? prior[i] : kSentinel;
            auto w = randn(ci * co * 16, unsigned(ci + co), 0.3f), bias = randn(co, unsigned(co));
            auto packed = ops::pack_deconv_weights(w.data(), ci, co);
            kernels::DeconvParams p{h, wd, ci, co, acc != 0, -1.f, kInf};
            in_pieces(oh, {1, 2, 5}, [&](size_t a, size_t b) {
              ks->deconv(p, in.data(), packed.data(), acc ? nullptr : bias.data(), out.data(), a, b);
            });
            int bad = 0;
            for (size_t oy = 0; oy < oh; ++oy)
              for (size_t ox = 0; ox < ow; ++ox)
                for (size_t c = 0; c < co; ++c) {
                  Want want;
                  want.add(acc ? prior[(oy * ow + ox) * co + c] : bias[c]);
                  for (int ky = 0; ky < 4; ++ky)
                    for (int kx = 0; kx < 4; ++kx) {
                      // ConvTranspose2d: oy = iy*2 - 1 + ky
                      const long ty = long(oy) + 1 - ky, tx = long(ox) + 1 - kx;
                      if (ty < 0 || tx < 0 || ty % 2 || tx % 2) continue;
                      const long iy = ty / 2, ix = tx / 2;
                      if (iy >= long(h) || ix >= long(wd)) continue;
                      for (size_t i = 0; i < ci; ++i)
                        want.add(double(in[(size_t(iy) * wd + size_t(ix)) * ci + i]) *
                                 w[((i * co + c) * 4 + size_t(ky)) * 4 + size_t(kx)]);
                    }
                  if (!close(out[(oy * ow + ox) * co + c], want, 4 * ci + 1, -1, 1e300)) ++bad;
                }
            CHECK_MSG(bad == 0, ks->isa << " deconv " << h << "x" << wd << " ci=" << ci << " co=" << co
                                        << " acc=" << acc << ": " << bad << " bad");
          }
}

TEST(conv_direct_row_ranges_guarded) {
  const size_t sizes[][2] = {{1, 1}, {2, 3}, {7, 9}, {10, 21}};
  for (const ops::KernelSet* ks : sets())
    for (auto& hw : sizes)
      for (size_t ci : {1, 3})
        for (size_t co : {1, 8, 9, 16, 24, 32, 40})
          for (int k : {3, 5})
            for (int s : {1, 2}) {
              const size_t h = hw[0], wd = hw[1], pad = k / 2;
              const size_t oh = (h + 2 * pad - k) / s + 1, ow = (wd + 2 * pad - k) / s + 1;
              Guarded in(h * wd * ci), out(oh * ow * co);
              in.fill_randn(unsigned(h + wd * 3 + ci + co + k));
              out.fill(kSentinel);
              auto w = randn(co * ci * k * k, unsigned(co + ci), 0.3f), bias = randn(co, unsigned(co + 1));
              auto packed = ops::pack_conv_weights(w.data(), co, ci, k);
              kernels::ConvParams p{h, wd, ci, co, oh, ow, k, s, static_cast<int>(pad), 0.f, 6.f};
              in_pieces(oh, {1, 3}, [&](size_t a, size_t b) {
                ks->conv(p, in.data(), packed.data(), bias.data(), out.data(), a, b);
              });
              int bad = 0;
              for (size_t oy = 0; oy < oh; ++oy)
                for (size_t ox = 0; ox < ow; ++ox)
                  for (size_t c = 0; c < co; ++c) {
                    Want want;
                    want.add(bias[c]);
                    for (int ky = 0; ky < k; ++ky)
                      for (int kx = 0; kx < k; ++kx) {
                        const long iy = long(oy) * s - long(pad) + ky, ix = long(ox) * s - long(pad) + kx;
                        if (iy < 0 || ix < 0 || iy >= long(h) || ix >= long(wd)) continue;
                        for (size_t i = 0; i < ci; ++i)
                          want.add(double(in[(size_t(iy) * wd + size_t(ix)) * ci + i]) *
                                   w[((c * ci + i) * size_t(k) + size_t(ky)) * size_t(k) + size_t(kx)]);
                      }
                    if (!close(out[(oy * ow + ox) * co + c], want, size_t(k * k) * ci, 0, 6)) ++bad;
                  }
              CHECK_MSG(bad == 0, ks->isa << " conv " << h << "x" << wd << " ci=" << ci << " co=" << co << " k=" << k
                                          << " s=" << s << ": " << bad << " bad");
            }
}

TEST(simd_kernel_sets_present_on_this_cpu) {
  // Not a requirement of the code, a statement about this test run: print
  // which sets were exercised so a log shows the SIMD paths really ran.
  std::string names;
  for (const ops::KernelSet* ks : sets()) names += std::string(names.empty() ? "" : ", ") + ks->isa;
  std::printf("kernel sets tested: %s\n", names.c_str());
  CHECK(!sets().empty());
}
