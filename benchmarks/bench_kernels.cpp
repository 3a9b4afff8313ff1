// bench_kernels: per-kernel-family speed on the real LitePose layer shapes.
//
// For one architecture (default M at 448x448, shapes derived exactly as
// src/litepose/_spec.py and csrc/model/network.cpp build the network) every
// distinct layer shape of each family (gemm = 1x1 convs, dwconv, deconv,
// conv = stem) is run single-threaded on every kernel set this CPU supports,
// calling the microkernel directly over the whole output (no thread pool).
// Printed per shape: how many layers of the network have it, MACs, min and
// median time of repeated runs, GFLOP/s at both, % of this core's measured
// FMA peak for that ISA's vector width, and bytes moved (compulsory traffic:
// inputs + packed weights + outputs (+ residual / accumulated output read)),
// with the GB/s that implies.  A per-family summary weights each shape by its
// count: the single-thread time the family costs in one forward pass.
// Two probes frame the numbers: the FMA peak of one core per vector width
// (independent FMAs, best of many short runs) and one core's DRAM read /
// write / copy bandwidth over 256 MB buffers.  A shape is compute-bound when
// its time is near MACs / peak, memory-bound when near bytes / bandwidth.
// On a shared machine use the min column: the median includes other
// processes' time slices.
//
// Usage: bench_kernels [--arch XS|S|M|L] [--size N] [--isa NAME]
//                      [--family gemm|dwconv|deconv|conv] [--min-time SECONDS]
//                      [--joints K]
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "kernels/kernels.h"
#include "ops/aligned.h"
#include "ops/dispatch.h"
#include "ops/pack.h"

using namespace litepose;
using Clock = std::chrono::steady_clock;

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// ---- architecture table (mirror of src/litepose/archs.py) -----------------
struct ArchDesc {
  const char* name;
  int input_size, input_channel, deconv[3], chans[4];
};
constexpr int kBlocks[4] = {6, 8, 10, 10}, kStrides[4] = {2, 2, 2, 1};
constexpr int kStem = 32, kExpand = 6, kDwK = 7, kHeadK = 5;
const ArchDesc kArchs[] = {
    {"XS", 256, 16, {16, 24, 24}, {16, 32, 48, 80}},
    {"S", 448, 16, {32, 24, 32}, {16, 32, 48, 120}},
    {"M", 448, 16, {64, 40, 32}, {24, 48, 72, 120}},
    {"L", 512, 24, {64, 40, 32}, {24, 64, 96, 160}},
};

int make_divisible(double v, int d = 8) {
  int nv = std::max(d, static_cast<int>(v + d / 2.0) / d * d);
  if (nv < 0.9 * v) nv += d;
  return nv;
}

// ---- layer shapes -----------------------------------------------------------
enum class Fam { gemm, dwconv, deconv, conv };
const char* fam_name(Fam f) {
  switch (f) {
    case Fam::gemm: return "gemm";
    case Fam::dwconv: return "dwconv";
    case Fam::deconv: return "deconv";
    default: return "conv";
  }
}

struct Shape {
  Fam fam;
  std::string where;  // first layer with this shape
  int count = 1;
  // gemm: m x k -> n (residual); dwconv: h x w x c, k, s; deconv: h x w x ci -> co (acc);
  // conv: h x w x ci -> co, k, s
  size_t m = 0, n = 0, k = 0;
  bool flag = false;  // gemm residual / deconv accumulate
  size_t h = 0, w = 0, c = 0, co = 0;
  int ks = 0, stride = 1;

  std::string key() const {
    char b[160];
    std::snprintf(b, sizeof b, "%d|%zu|%zu|%zu|%d|%zu|%zu|%zu|%zu|%d|%d", static_cast<int>(fam), m, n, k, flag, h, w, c, co,
                  ks, stride);
    return b;
  }
  std::string desc() const {
    char b[160];
    switch (fam) {
      case Fam::gemm:
        std::snprintf(b, sizeof b, "m=%zu k=%zu n=%zu%s", m, k, n, flag ? " +res" : "");
        break;
      case Fam::dwconv:
        std::snprintf(b, sizeof b, "%zux%zux%zu k%d s%d", h, w, c, ks, stride);
        break;
      case Fam::deconv:
        std::snprintf(b, sizeof b, "%zux%zux%zu->%zu%s", h, w, c, co, flag ? " acc" : "");
        break;
      default:
        std::snprintf(b, sizeof b, "%zux%zux%zu->%zu k%d s%d", h, w, c, co, ks, stride);
    }
    return b;
  }
  size_t out_dim(size_t in) const { return (in + 2 * (ks / 2) - ks) / stride + 1; }
  double macs() const {
    switch (fam) {
      case Fam::gemm: return double(m) * n * k;
      case Fam::dwconv: return double(out_dim(h)) * out_dim(w) * c * ks * ks;
      case Fam::deconv: return 4.0 * h * w * c * co * 4;  // 4 outputs per input pixel, 4 taps each
      default: return double(out_dim(h)) * out_dim(w) * c * co * ks * ks;
    }
  }
  // Compulsory traffic in bytes (each tensor read or written once).
  double bytes(size_t nr) const {
    switch (fam) {
      case Fam::gemm: {
        const size_t np = (n + nr - 1) / nr * nr;
        return 4.0 * (m * k + (k + 1) * np + m * n * (flag ? 2 : 1));
      }
      case Fam::dwconv: return 4.0 * (h * w * c + out_dim(h) * out_dim(w) * c + (ks * ks + 1) * c);
      case Fam::deconv: return 4.0 * (h * w * c + 16 * c * co + 4 * h * w * co * (flag ? 2 : 1) + co);
      default: return 4.0 * (h * w * c + out_dim(h) * out_dim(w) * co + (ks * ks * c + 1) * co);
    }
  }
};

std::vector<Shape> network_shapes(const ArchDesc& a, size_t size, size_t joints) {
  std::vector<Shape> v;
  auto gemm = [&](const std::string& w, size_t m, size_t k, size_t n, bool res) {
    Shape s;
    s.fam = Fam::gemm, s.where = w, s.m = m, s.k = k, s.n = n, s.flag = res;
    v.push_back(s);
  };
  auto dw = [&](const std::string& w, size_t h, size_t wd, size_t c, int k, int st) {
    Shape s;
    s.fam = Fam::dwconv, s.where = w, s.h = h, s.w = wd, s.c = c, s.ks = k, s.stride = st;
    v.push_back(s);
  };
  auto dc = [&](const std::string& w, size_t h, size_t wd, size_t ci, size_t co, bool acc) {
    Shape s;
    s.fam = Fam::deconv, s.where = w, s.h = h, s.w = wd, s.c = ci, s.co = co, s.flag = acc;
    v.push_back(s);
  };
  // stem
  {
    Shape s;
    s.fam = Fam::conv, s.where = "first.0", s.h = size, s.w = size, s.c = 3, s.co = kStem, s.ks = 3, s.stride = 2;
    v.push_back(s);
  }
  size_t r = size / 2;
  dw("first.1", r, r, kStem, 3, 1);
  gemm("first.2", r * r, kStem, a.input_channel, false);
  size_t res[5] = {r, 0, 0, 0, 0}, ch[5] = {size_t(a.input_channel), 0, 0, 0, 0};
  size_t inp = a.input_channel;
  for (int s = 0; s < 4; ++s) {
    for (int b = 0; b < kBlocks[s]; ++b) {
      const int st = b == 0 ? kStrides[s] : 1;
      const size_t hid = make_divisible(double(inp) * kExpand);
      const std::string nm = "stage." + std::to_string(s) + "." + std::to_string(b);
      gemm(nm + ".inv", r * r, inp, hid, false);
      dw(nm + ".depth_conv", r, r, hid, kDwK, st);
      r = (r + 2 * (kDwK / 2) - kDwK) / st + 1;
      const size_t co = a.chans[s];
      gemm(nm + ".point_conv", r * r, hid, co, st == 1 && inp == co);
      inp = co;
    }
    res[s + 1] = r;
    ch[s + 1] = a.chans[s];
  }
  // head: x[0] 1/2, x[1] 1/4, x[2] 1/8, x[3] 1/16, x[4] 1/16
  size_t in_c = ch[4], rr = res[4];
  for (int i = 0; i < 3; ++i) {
    const size_t co = a.deconv[i];
    const int raw = 3 - i;
    dc("deconv_refined." + std::to_string(i), rr, rr, in_c, co, false);
    dc("deconv_raw." + std::to_string(i), res[raw], res[raw], ch[raw], co, true);
    rr *= 2;
    in_c = co;
    if (i == 0) continue;
    const size_t outs = i == 1 ? 2 * joints : joints;
    const size_t skip_c = ch[2 - i];
    dw("final_refined." + std::to_string(i - 1) + ".conv.0", rr, rr, co, kHeadK, 1);
    gemm("final_refined." + std::to_string(i - 1) + ".conv.3", rr * rr, co, outs, false);
    dw("final_raw." + std::to_string(i - 1) + ".conv.0", rr, rr, skip_c, kHeadK, 1);
    gemm("final_raw." + std::to_string(i - 1) + ".conv.3", rr * rr, skip_c, outs, true);
  }
  // merge identical shapes
  std::vector<Shape> out;
  std::map<std::string, size_t> idx;
  for (const Shape& s : v) {
    auto it = idx.find(s.key());
    if (it == idx.end()) {
      idx[s.key()] = out.size();
      out.push_back(s);
    } else {
      out[it->second].count++;
    }
  }
  return out;
}

// ---- FMA peak probe ----------------------------------------------------------
template <typename F>
double seconds(F&& f) {
  auto t0 = Clock::now();
  f();
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

__attribute__((target("avx2,fma"), noinline)) float fma_loop_ymm(long iters) {
  __m256 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(float(i));
  const __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(1e-4f);
  for (long it = 0; it < iters; ++it)
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  __m256 s = acc[0];
  for (int i = 1; i < 12; ++i) s = _mm256_add_ps(s, acc[i]);
  float o[8];
  _mm256_storeu_ps(o, s);
  return o[0];
}

__attribute__((target("avx512f"), noinline)) float fma_loop_zmm(long iters) {
  __m512 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm512_set1_ps(float(i));
  const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(1e-4f);
  for (long it = 0; it < iters; ++it)
    for (int i = 0; i < 12; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  __m512 s = acc[0];
  for (int i = 1; i < 12; ++i) s = _mm512_add_ps(s, acc[i]);  // every chain is live
  return _mm512_reduce_add_ps(s);
}

// GFLOP/s of back-to-back independent FMAs: best of 300 short runs (~0.5 ms
// each), so a time slice lost to another process on a shared machine does
// not count.
double fma_peak(const std::string& isa) {
  const long iters = 100'000;
  double best = 1e30;
  volatile float sink = 0;
  for (int r = 0; r < 300; ++r) {
    if (isa == "avx512f") best = std::min(best, seconds([&] { sink = sink + fma_loop_zmm(iters); }));
    else if (isa == "avx2") best = std::min(best, seconds([&] { sink = sink + fma_loop_ymm(iters); }));
    else return 0;
  }
  const int lanes = isa == "avx512f" ? 16 : 8;
  return 2.0 * lanes * 12 * iters / best / 1e9;
}

// Memory bandwidth of one core over a buffer far larger than the caches:
// read (sum), write (stores) and copy, best of a few passes, in GB/s.
struct Bandwidth {
  double read, write, copy;
};

__attribute__((target("avx2,fma"), noinline)) float read_pass(const float* p, size_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  for (size_t i = 0; i + 32 <= n; i += 32) {
    s0 = _mm256_add_ps(s0, _mm256_loadu_ps(p + i));
    s1 = _mm256_add_ps(s1, _mm256_loadu_ps(p + i + 8));
    s2 = _mm256_add_ps(s2, _mm256_loadu_ps(p + i + 16));
    s3 = _mm256_add_ps(s3, _mm256_loadu_ps(p + i + 24));
  }
  float o[8];
  _mm256_storeu_ps(o, _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
  return o[0];
}

__attribute__((target("avx2,fma"), noinline)) void write_pass(float* p, size_t n, float v) {
  const __m256 x = _mm256_set1_ps(v);
  for (size_t i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(p + i, x);
}

Bandwidth memory_bandwidth() {
  const size_t n = size_t(64) << 20;  // 256 MB of floats
  ops::AlignedBuffer a(n), b(n);
  volatile float sink = 0;
  Bandwidth bw{0, 0, 0};
  for (int r = 0; r < 4; ++r) {
    bw.read = std::max(bw.read, 4.0 * n / seconds([&] { sink = sink + read_pass(a.data(), n); }) / 1e9);
    bw.write = std::max(bw.write, 4.0 * n / seconds([&] { write_pass(b.data(), n, float(r)); }) / 1e9);
    bw.copy = std::max(bw.copy, 8.0 * n / seconds([&] { std::memcpy(b.data(), a.data(), 4 * n); }) / 1e9);
  }
  return bw;
}

// ---- running one shape ------------------------------------------------------
std::vector<float> randn(size_t n, unsigned seed) {
  std::mt19937 g(seed);
  std::normal_distribution<float> d(0.f, 1.f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(g);
  return v;
}

void fill(ops::AlignedBuffer& b, size_t n, unsigned seed) {
  b.resize(n);
  auto v = randn(n, seed);
  std::memcpy(b.data(), v.data(), n * sizeof(float));
}

struct Timing {
  double min_s, med_s;
  int reps;
};

template <typename F>
Timing time_it(F&& run, double min_time) {
  run();  // warm up (caches, page faults)
  std::vector<double> t;
  double total = 0;
  while ((total < min_time || t.size() < 5) && t.size() < 2000) {
    double s = seconds(run);
    t.push_back(s);
    total += s;
  }
  std::sort(t.begin(), t.end());
  return {t.front(), t[t.size() / 2], static_cast<int>(t.size())};
}

Timing run_shape(const ops::KernelSet& ks, const Shape& s, double min_time) {
  ops::AlignedBuffer in, w, bias, out, res;
  switch (s.fam) {
    case Fam::gemm: {
      fill(in, s.m * s.k, 1);
      auto wt = randn(s.n * s.k, 2), bs = randn(s.n, 3);
      w = ops::pack_gemm_weights(wt.data(), bs.data(), s.n, s.k, ks.gemm_nr);
      fill(out, s.m * s.n, 4);
      // residual in place, as the network runs it
      const float* r = s.flag ? out.data() : nullptr;
      return time_it([&] { ks.gemm(s.m, s.n, s.k, in.data(), s.k, w.data(), out.data(), s.n, r, s.n, -kInf, kInf); },
                     min_time);
    }
    case Fam::dwconv: {
      const size_t oh = s.out_dim(s.h), ow = s.out_dim(s.w);
      fill(in, s.h * s.w * s.c, 1);
      auto wt = randn(s.c * s.ks * s.ks, 2);
      w = ops::pack_dwconv_weights(wt.data(), s.c, s.ks);
      fill(bias, s.c, 3);
      out.resize(oh * ow * s.c);
      kernels::DwConvParams p{s.h, s.w, s.c, oh, ow, s.ks, s.stride, s.ks / 2, 0.f, 6.f};
      return time_it([&] { ks.dwconv(p, in.data(), w.data(), bias.data(), out.data(), 0, oh); }, min_time);
    }
    case Fam::deconv: {
      fill(in, s.h * s.w * s.c, 1);
      auto wt = randn(s.c * s.co * 16, 2);
      w = ops::pack_deconv_weights(wt.data(), s.c, s.co);
      fill(bias, s.co, 3);
      fill(out, 4 * s.h * s.w * s.co, 4);
      kernels::DeconvParams p{s.h, s.w, s.c, s.co, s.flag, 0.f, kInf};
      // accumulate keeps adding onto out; values stay finite for the runs we do
      return time_it([&] { ks.deconv(p, in.data(), w.data(), s.flag ? nullptr : bias.data(), out.data(), 0, 2 * s.h); },
                     min_time);
    }
    default: {
      const size_t oh = s.out_dim(s.h), ow = s.out_dim(s.w);
      fill(in, s.h * s.w * s.c, 1);
      auto wt = randn(s.co * s.c * s.ks * s.ks, 2);
      w = ops::pack_conv_weights(wt.data(), s.co, s.c, s.ks);
      fill(bias, s.co, 3);
      out.resize(oh * ow * s.co);
      kernels::ConvParams p{s.h, s.w, s.c, s.co, oh, ow, s.ks, s.stride, s.ks / 2, 0.f, 6.f};
      return time_it([&] { ks.conv(p, in.data(), w.data(), bias.data(), out.data(), 0, oh); }, min_time);
    }
  }
}

const char* kernel_name(const ops::KernelSet& ks, Fam f) {
  switch (f) {
    case Fam::gemm: return ks.gemm_name;
    case Fam::dwconv: return ks.dwconv_name;
    case Fam::deconv: return ks.deconv_name;
    default: return ks.conv_name;
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string arch = "M", isa_filter, fam_filter;
  size_t size = 0, joints = 17;
  double min_time = 0.25;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--arch") arch = next();
    else if (a == "--size") size = std::stoul(next());
    else if (a == "--isa") isa_filter = next();
    else if (a == "--family") fam_filter = next();
    else if (a == "--min-time") min_time = std::stod(next());
    else if (a == "--joints") joints = std::stoul(next());
    else {
      std::fprintf(stderr,
                   "usage: bench_kernels [--arch XS|S|M|L] [--size N] [--isa NAME] "
                   "[--family gemm|dwconv|deconv|conv] [--min-time SECONDS] [--joints K]\n");
      return a == "-h" || a == "--help" ? 0 : 2;
    }
  }
  const ArchDesc* ad = nullptr;
  for (const ArchDesc& a : kArchs)
    if (arch == a.name) ad = &a;
  if (!ad) {
    std::fprintf(stderr, "unknown arch %s (XS, S, M, L)\n", arch.c_str());
    return 2;
  }
  if (!size) size = ad->input_size;
  const auto shapes = network_shapes(*ad, size, joints);
  std::printf("LitePose-%s at %zux%zu, single thread; times in ms (min / median of repeated runs)\n", ad->name, size,
              size);
  const Bandwidth bw = memory_bandwidth();
  std::printf("memory bandwidth, one core, 256 MB buffers: read %.1f GB/s, write %.1f GB/s, copy %.1f GB/s "
              "(read+written bytes)\n",
              bw.read, bw.write, bw.copy);

  for (const ops::KernelSet* ks : ops::available_kernel_sets()) {
    if (!isa_filter.empty() && isa_filter != ks->isa) continue;
    const double peak = fma_peak(ks->isa);
    std::printf("\n=== %s   (measured FMA peak: %.1f GFLOP/s)\n", ks->isa, peak);
    std::printf("%-7s %-34s %3s %8s %8s %8s %7s %7s %6s %8s %7s  %s\n", "family", "shape", "n", "MMAC", "min_ms",
                "med_ms", "GF/s", "GF/s", "%peak", "MB", "GB/s", "first layer");
    std::printf("%-7s %-34s %3s %8s %8s %8s %7s %7s %6s %8s %7s\n", "", "", "", "", "", "", "(min)", "(med)", "(min)",
                "moved", "(min)");
    std::map<std::string, double> fam_ms_min, fam_ms_med, fam_macs;
    for (Fam f : {Fam::gemm, Fam::dwconv, Fam::deconv, Fam::conv}) {
      if (!fam_filter.empty() && fam_filter != fam_name(f)) continue;
      for (const Shape& s : shapes) {
        if (s.fam != f) continue;
        Timing t = run_shape(*ks, s, min_time);
        const double flops = 2 * s.macs(), bytes = s.bytes(ks->gemm_nr);
        const double gf_min = flops / t.min_s / 1e9, gf_med = flops / t.med_s / 1e9;
        std::printf("%-7s %-34s %3d %8.1f %8.3f %8.3f %7.1f %7.1f %5.0f%% %8.2f %7.1f  %s\n", fam_name(f),
                    s.desc().c_str(), s.count, s.macs() / 1e6, t.min_s * 1e3, t.med_s * 1e3, gf_min, gf_med,
                    peak > 0 ? 100 * gf_min / peak : 0.0, bytes / 1e6, bytes / t.min_s / 1e9, s.where.c_str());
        std::fflush(stdout);
        fam_ms_min[fam_name(f)] += s.count * t.min_s * 1e3;
        fam_ms_med[fam_name(f)] += s.count * t.med_s * 1e3;
        fam_macs[fam_name(f)] += s.count * s.macs();
      }
    }
    std::printf("--- %s per forward pass (each shape x its count):\n", ks->isa);
    double tot_min = 0, tot_med = 0, tot_macs = 0;
    for (Fam f : {Fam::gemm, Fam::dwconv, Fam::deconv, Fam::conv}) {
      const std::string n = fam_name(f);
      if (!fam_macs.count(n)) continue;
      const double gf = 2 * fam_macs[n] / (fam_ms_min[n] / 1e3) / 1e9;
      std::printf("    %-7s %-26s %8.1f MMAC  %8.2f ms min  %8.2f ms med  %7.1f GFLOP/s  %5.0f%% peak\n", n.c_str(),
                  kernel_name(*ks, f), fam_macs[n] / 1e6, fam_ms_min[n], fam_ms_med[n], gf,
                  peak > 0 ? 100 * gf / peak : 0.0);
      tot_min += fam_ms_min[n];
      tot_med += fam_ms_med[n];
      tot_macs += fam_macs[n];
    }
    std::printf("    %-7s %-26s %8.1f MMAC  %8.2f ms min  %8.2f ms med  %7.1f GFLOP/s\n", "all", "", tot_macs / 1e6,
                tot_min, tot_med, 2 * tot_macs / (tot_min / 1e3) / 1e9);
  }
  return 0;
}
