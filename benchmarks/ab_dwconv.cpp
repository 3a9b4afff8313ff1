// A/B of a depthwise kernel: an older commit's f32_dwconv_kxk__<isa>
// (renamed dw_old) against this checkout's (renamed dw_new), in one binary,
// interleaved, on the LitePose depthwise shapes (all four models), with
// 64-byte aligned buffers like the network's, and whether both give the same
// bits.  Prints min and median ms of each and new/old ratios (< 1: new is
// faster).
//
//   K=csrc/kernels/f32-dwconv/f32-dwconv-kxk-avx2.cpp
//   F="-O3 -mavx2 -mfma -std=c++17 -Icsrc"
//   git show REV:$K > /tmp/dw_old.cpp
//   g++ $F -Df32_dwconv_kxk__avx2=dw_old -c /tmp/dw_old.cpp -o /tmp/dw_old.o
//   g++ $F -Df32_dwconv_kxk__avx2=dw_new -c $K -o /tmp/dw_new.o
//   g++ $F -c csrc/kernels/f32-dwconv/f32-dwconv-kxk-scalar.cpp -o /tmp/dw_scalar.o
//   g++ $F benchmarks/ab_dwconv.cpp /tmp/dw_old.o /tmp/dw_new.o /tmp/dw_scalar.o -o /tmp/ab_dwconv
//   /tmp/ab_dwconv 15        # rounds (default 15)
//
// Compile the same file as both to see the harness's own noise (ratios
// within ~5-10% of 1 on the project's 2-vCPU VM).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "kernels/kernels.h"

namespace litepose::kernels {
void dw_old(const DwConvParams&, const float*, const float*, const float*, float*, size_t, size_t);
void dw_new(const DwConvParams&, const float*, const float*, const float*, float*, size_t, size_t);
}  // namespace litepose::kernels
using namespace litepose::kernels;

namespace {
struct Buf {  // 64-byte aligned floats
  float* p;
  size_t n;
  explicit Buf(size_t n_) : p(static_cast<float*>(std::aligned_alloc(64, (n_ * 4 + 63) / 64 * 64))), n(n_) {}
  ~Buf() { std::free(p); }
};
struct Shape {
  int h, w, c, k, s;
};
}  // namespace

int main(int argc, char** argv) {
  // input h x w x channels, kernel, stride: stem, stages and head layers of
  // XS/S/M/L at their input sizes (256/448/448/512)
  const Shape shapes[] = {
      {256, 256, 32, 3, 1}, {256, 256, 144, 7, 2}, {128, 128, 144, 7, 1}, {128, 128, 144, 7, 2},
      {64, 64, 384, 7, 1},  {64, 64, 384, 7, 2},   {32, 32, 576, 7, 1},   {32, 32, 960, 7, 1},
      {128, 128, 40, 5, 1}, {128, 128, 24, 5, 1},  {256, 256, 32, 5, 1},  {256, 256, 24, 5, 1},
      {224, 224, 96, 7, 2}, {112, 112, 96, 7, 1},  {56, 56, 192, 7, 1},   {28, 28, 288, 7, 1},
      {28, 28, 720, 7, 1},  {112, 112, 32, 5, 1},  {224, 224, 32, 5, 1},  {64, 64, 96, 7, 1},
      {32, 32, 192, 7, 1},  {16, 16, 480, 7, 1}};
  const int rounds = argc > 1 ? std::max(1, atoi(argv[1])) : 15;
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> U(-1, 1);
  int mismatches = 0;
  for (const Shape& sh : shapes) {
    DwConvParams p{};
    p.in_h = sh.h, p.in_w = sh.w, p.channels = sh.c, p.kernel = sh.k, p.stride = sh.s, p.pad = sh.k / 2;
    p.out_h = (sh.h + 2 * p.pad - sh.k) / sh.s + 1, p.out_w = (sh.w + 2 * p.pad - sh.k) / sh.s + 1;
    p.min = -1e30f, p.max = 1e30f;
    Buf in(size_t(sh.h) * sh.w * sh.c), w(size_t(sh.k) * sh.k * sh.c), b(sh.c);
    Buf o[2] = {Buf(p.out_h * p.out_w * sh.c), Buf(p.out_h * p.out_w * sh.c)};
    for (Buf* x : {&in, &w, &b})
      for (size_t i = 0; i < x->n; ++i) x->p[i] = U(rng);
    std::vector<double> t[2];
    for (int r = 0; r < rounds; ++r)
      for (int v = 0; v < 2; ++v) {
        const auto t0 = std::chrono::steady_clock::now();
        (v ? dw_new : dw_old)(p, in.p, w.p, b.p, o[v].p, 0, p.out_h);
        t[v].push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      }
    const bool same = std::equal(o[0].p, o[0].p + o[0].n, o[1].p);
    mismatches += !same;
    for (auto& x : t) std::sort(x.begin(), x.end());
    const double m0 = t[0][rounds / 2], m1 = t[1][rounds / 2];
    std::printf("%3dx%3dx%3d k%d s%d  old min %7.3f med %7.3f | new min %7.3f med %7.3f | new/old min %.2f med %.2f%s\n",
                sh.h, sh.w, sh.c, sh.k, sh.s, t[0][0], m0, t[1][0], m1, t[1][0] / t[0][0], m1 / m0,
                same ? "" : "  OUTPUTS DIFFER");
  }
  return mismatches ? 1 : 0;
}
