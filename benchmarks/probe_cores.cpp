// probe_cores: do this machine's cores deliver their FMA peak at the same
// time, and steadily?
//
// One thread per core (pinned on Linux), each running independent FMA
// chains for --seconds, counting its throughput in 50 ms windows.  Printed
// per core: min / median / max GFLOP/s over the windows and how many
// windows fell below 80% of that core's best; then the same for the sum of
// all cores.  On a VM this separates "the second vCPU shares a physical
// core (SMT sibling) or is descheduled part of the time" (windows at half
// speed or less while both run) from effects in memory or in the code under
// test: a multi-threaded forward pass can scale no better than this.
//
// Usage: probe_cores [--threads N] [--seconds S]
// Built with LITEPOSE_BUILD_BENCHMARKS=ON, compiled for the host CPU
// (-march=native) so the vector width is the host's widest.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#endif

namespace {

constexpr int kChains = 12;  // independent accumulators: >= latency x FMA pipes
#if defined(__AVX512F__)
constexpr int kLanes = 16;
#elif defined(__AVX__)
constexpr int kLanes = 8;
#else
constexpr int kLanes = 4;
#endif
typedef float vec __attribute__((vector_size(kLanes * 4)));

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void pin(int cpu) {
#if defined(__linux__)
  cpu_set_t s;
  CPU_ZERO(&s);
  CPU_SET(cpu, &s);
  pthread_setaffinity_np(pthread_self(), sizeof s, &s);
#else
  (void)cpu;
#endif
}

// GFLOP/s (2 flops per lane per FMA) of each 50 ms window, windows aligned
// to `t0` across threads.
void run(int cpu, double t0, int windows, std::vector<double>* out) {
  pin(cpu);
  vec acc[kChains];
  for (int i = 0; i < kChains; ++i)
    for (int l = 0; l < kLanes; ++l) acc[i][l] = float(i + l);
  vec m, b;
  for (int l = 0; l < kLanes; ++l) m[l] = 0.999999f, b[l] = 1e-7f;
  out->assign(static_cast<size_t>(windows), 0.0);
  while (now_s() < t0) {
  }
  for (int w = 0; w < windows; ++w) {
    const double end = t0 + 0.05 * (w + 1);
    long n = 0;
    double t = now_s();
    const double start = t;
    while (t < end) {
      for (int r = 0; r < 256; ++r)
#pragma GCC unroll 12
        for (int i = 0; i < kChains; ++i) acc[i] = acc[i] * m + b;
      n += 256;
      t = now_s();
    }
    (*out)[static_cast<size_t>(w)] = double(n) * kChains * kLanes * 2 / (t - start) / 1e9;
  }
  float sink = 0;
  for (int i = 0; i < kChains; ++i)
    for (int l = 0; l < kLanes; ++l) sink += acc[i][l];
  if (sink == 1234.5f) std::printf(" ");
}

void report(const char* name, std::vector<double> v) {
  const double best = *std::max_element(v.begin(), v.end());
  const long low = std::count_if(v.begin(), v.end(), [&](double x) { return x < 0.8 * best; });
  std::sort(v.begin(), v.end());
  std::printf("%-8s GFLOP/s min %7.1f  median %7.1f  max %7.1f   windows < 80%% of max: %ld of %zu\n", name, v.front(),
              v[v.size() / 2], v.back(), low, v.size());
}

}  // namespace

int main(int argc, char** argv) {
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  double seconds = 10;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) threads = std::max(1, std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = std::max(0.1, std::atof(argv[++i]));
    else {
      std::fprintf(stderr, "usage: probe_cores [--threads N] [--seconds S]\n");
      return 2;
    }
  }
  const int windows = static_cast<int>(seconds / 0.05);
  std::printf("%d thread(s), %d-lane FMA chains, %d windows of 50 ms\n", threads, kLanes, windows);
  std::vector<std::vector<double>> rates(static_cast<size_t>(threads));
  const double t0 = now_s() + 0.1;
  std::vector<std::thread> th;
  for (int c = 0; c < threads; ++c) th.emplace_back(run, c, t0, windows, &rates[static_cast<size_t>(c)]);
  for (auto& t : th) t.join();
  std::vector<double> sum(static_cast<size_t>(windows), 0.0);
  for (int c = 0; c < threads; ++c) {
    char name[32];
    std::snprintf(name, sizeof name, "core %d", c);
    report(name, rates[static_cast<size_t>(c)]);
    for (int w = 0; w < windows; ++w) sum[static_cast<size_t>(w)] += rates[static_cast<size_t>(c)][static_cast<size_t>(w)];
  }
  if (threads > 1) report("all", sum);
  return 0;
}
