// Persistent thread pool (see threadpool.h).
#include "ops/threadpool.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#endif

#include "litepose/error.h"
#include "ops/cpu.h"

namespace litepose::ops {

int default_num_threads() {
  if (const char* env = std::getenv("LITEPOSE_NUM_THREADS")) {
    char* end = nullptr;
    long v = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && v >= 1 && v <= 1024) return static_cast<int>(v);
  }
  return cpu_info().hardware_threads;
}

namespace {
#if defined(__linux__)
// The next CPU (index into the allowed set) a new pinning pool starts at.
std::atomic<size_t> g_next_cpu{0};

bool bind_self(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

long read_long(const std::string& path) {
  long v = -1;
  if (FILE* f = std::fopen(path.c_str(), "r")) {
    if (std::fscanf(f, "%ld", &v) != 1) v = -1;
    std::fclose(f);
  }
  return v;
}

// What sysfs says about a CPU (-1 / 0 where it says nothing).
CpuDesc describe_cpu(int cpu) {
  const std::string dir = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/";
  CpuDesc d;
  d.cpu = cpu;
  d.package = read_long(dir + "topology/physical_package_id");
  d.core = read_long(dir + "topology/core_id");
  long cap = read_long(dir + "cpu_capacity");  // arm64: big cores 1024, LITTLE less
  if (cap <= 0) cap = read_long(dir + "cpufreq/cpuinfo_max_freq");  // x86 hybrid: P-cores higher
  d.capacity = cap > 0 ? cap : 0;
  return d;
}
#endif
}  // namespace

std::vector<int> pinning_order(const std::vector<CpuDesc>& cpus) {
  struct Key {
    long capacity;
    int smt_rank;
    size_t pos;
  };
  std::vector<Key> keys;
  for (size_t i = 0; i < cpus.size(); ++i) {
    int rank = 0;
    if (cpus[i].package >= 0 && cpus[i].core >= 0)
      for (size_t j = 0; j < i; ++j) rank += cpus[j].package == cpus[i].package && cpus[j].core == cpus[i].core;
    keys.push_back({cpus[i].capacity, rank, i});
  }
  std::stable_sort(keys.begin(), keys.end(), [](const Key& a, const Key& b) {
    if (a.capacity != b.capacity) return a.capacity > b.capacity;
    return a.smt_rank < b.smt_rank;
  });
  std::vector<int> out;
  for (const Key& k : keys) out.push_back(cpus[k.pos].cpu);
  return out;
}

namespace {
// T CPUs of the process's allowed set for a pinning pool, or none.
std::vector<int> choose_cpus(int T) {
  std::vector<int> cpus;
#if defined(__linux__)
  if (T < 2) return cpus;
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return cpus;
  std::vector<int> list;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &allowed)) list.push_back(c);
  if (list.size() < static_cast<size_t>(T)) return cpus;
  std::vector<CpuDesc> desc;
  for (int c : list) desc.push_back(describe_cpu(c));
  list = pinning_order(desc);
  const size_t start = g_next_cpu.fetch_add(static_cast<size_t>(T), std::memory_order_relaxed);
  for (int i = 0; i < T; ++i) cpus.push_back(list[(start + static_cast<size_t>(i)) % list.size()]);
#else
  (void)T;
#endif
  return cpus;
}
}  // namespace

ThreadPool::ThreadPool(int num_threads, bool pin) {
  if (num_threads < 1)
    throw InputError("num_threads must be >= 1, got " + std::to_string(num_threads));
  spans_.resize(static_cast<size_t>(num_threads));
  ranges_.reset(new Range[static_cast<size_t>(num_threads)]);
  if (pin) cpus_ = choose_cpus(num_threads);
  for (int i = 1; i < num_threads; ++i) workers_.emplace_back([this, i] {
#if defined(__linux__)
    if (!cpus_.empty()) bind_self(cpus_[static_cast<size_t>(i)]);  // best effort
#endif
    worker_loop(i);
  });
}

ThreadPool::CallerBinding::CallerBinding(const ThreadPool& pool) {
#if defined(__linux__)
  if (pool.cpus_.empty()) return;
  cpu_set_t mine;
  CPU_ZERO(&mine);
  if (pthread_getaffinity_np(pthread_self(), sizeof mine, &mine) != 0) return;
  const int cpu = pool.cpus_[0];
  if (!CPU_ISSET(cpu, &mine) || CPU_COUNT(&mine) == 1) return;  // not ours to take, or bound already
  saved_.resize(sizeof mine);
  std::memcpy(saved_.data(), &mine, sizeof mine);
  bound_ = bind_self(cpu);
#else
  (void)pool;
#endif
}

ThreadPool::CallerBinding::~CallerBinding() {
#if defined(__linux__)
  if (!bound_) return;
  cpu_set_t mine;
  std::memcpy(&mine, saved_.data(), sizeof mine);
  pthread_setaffinity_np(pthread_self(), sizeof mine, &mine);
#endif
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_.store(true, std::memory_order_release);
  }
  start_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

namespace {
// Spin budget before a worker sleeps: long enough to bridge the gap between
// two layers of a forward pass, short enough that an idle pool goes to
// sleep at once in human terms.
constexpr auto kSpinFor = std::chrono::microseconds(200);
// How long the caller spins for workers still running their last tasks
// before it sleeps.  A task is ~1/4 of a thread's share of a layer, up to a
// few hundred microseconds, so a shorter spin puts the caller to sleep in
// many layers, and on a VM every wake-up of a sleeping vCPU can cost far
// more than the spin: 50 us -> 1 ms measured 1.15x / 1.08x / 0.94x / 1.02x
// (XS / S / M / L, 2 threads, medians of 40 interleaved runs after a 50 ms
// idle gap, Zen 4 VM; 500 us, 2 ms and 10 ms within noise of 1 ms), and
// even with a busy process on one of the two cores (0.96x-1.02x with 2 ms).
constexpr auto kJoinSpinFor = std::chrono::microseconds(1000);

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}
}  // namespace

void ThreadPool::run_one(size_t i, int index) {
  if (!tracing_) {
    (*fn_)(i, index);
    return;
  }
  Span s{index, std::chrono::steady_clock::now(), {}};
  (*fn_)(i, index);
  s.end = std::chrono::steady_clock::now();
  spans_[static_cast<size_t>(index)].push_back(s);
}

void ThreadPool::run_tasks(int index) {
  const int T = num_threads();
  for (int k = 0; k < T; ++k) {  // own range first, then the others in turn
    Range& r = ranges_[static_cast<size_t>((index + k) % T)];
    for (;;) {
      const size_t i = r.next.fetch_add(1, std::memory_order_relaxed);
      if (i >= r.end) break;
      run_one(i, index);
    }
  }
}

std::vector<ThreadPool::Span> ThreadPool::take_spans() {
  std::vector<Span> all;
  for (auto& v : spans_) {
    all.insert(all.end(), v.begin(), v.end());
    v.clear();
  }
  return all;
}

void ThreadPool::wake(std::chrono::microseconds spin_for) {
  if (workers_.empty()) return;
  using clock = std::chrono::steady_clock;
  const clock::rep until = (clock::now() + spin_for).time_since_epoch().count();
  clock::rep prev = spin_until_.load(std::memory_order_relaxed);
  while (prev < until && !spin_until_.compare_exchange_weak(prev, until, std::memory_order_relaxed)) {
  }
  {
    // under the mutex, like a new call, so a worker about to sleep sees it
    std::lock_guard<std::mutex> lk(mu_);
    wakes_.fetch_add(1, std::memory_order_release);
  }
  start_cv_.notify_all();
}

void ThreadPool::worker_loop(int index) {
  using clock = std::chrono::steady_clock;
  unsigned long seen = 0, seen_wakes = 0;
  for (;;) {
    // spin for the next call (for kSpinFor, or until the last wake()'s
    // deadline), then sleep until a call, a wake() or the end
    auto spin_until = clock::now() + kSpinFor;
    unsigned spins = 0;
    while (generation_.load(std::memory_order_acquire) == seen && !stop_.load(std::memory_order_acquire)) {
      cpu_relax();
      if ((++spins & 63) != 0) continue;
      const auto now = clock::now();
      if (now <= spin_until) continue;
      const clock::time_point woken{clock::duration(spin_until_.load(std::memory_order_relaxed))};
      if (now < woken) {
        spin_until = woken;
        continue;
      }
      std::unique_lock<std::mutex> lk(mu_);
      start_cv_.wait(lk, [&] {
        return stop_.load(std::memory_order_acquire) || generation_.load(std::memory_order_acquire) != seen ||
               wakes_.load(std::memory_order_acquire) != seen_wakes;
      });
      seen_wakes = wakes_.load(std::memory_order_acquire);
    }
    if (stop_.load(std::memory_order_acquire)) return;
    seen = generation_.load(std::memory_order_acquire);
    // Join: announce, then check that the call is still open.  seq_cst on
    // both sides (caller: close, then read active_) means either the caller
    // sees this worker in active_ and waits for it, or this worker sees the
    // call closed and leaves it alone.
    active_.fetch_add(1, std::memory_order_seq_cst);
    if (open_.load(std::memory_order_seq_cst) == seen) run_tasks(index);
    // seq_cst pairs with the caller's store of caller_waiting_ then load of
    // active_: one of the two sides sees the other's write (no lost wake-up)
    if (active_.fetch_sub(1, std::memory_order_seq_cst) == 1 && caller_waiting_.load(std::memory_order_seq_cst)) {
      std::lock_guard<std::mutex> lk(mu_);
      done_cv_.notify_one();
    }
  }
}

void ThreadPool::parallel_for(size_t n, const std::function<void(size_t, int)>& fn) {
  if (n == 0) return;
  if (workers_.empty() || n == 1) {
    fn_ = &fn;
    for (size_t i = 0; i < n; ++i) run_one(i, 0);
    fn_ = nullptr;
    return;
  }
  fn_ = &fn;
  const size_t T = static_cast<size_t>(num_threads());
  for (size_t t = 0; t < T; ++t) {
    ranges_[t].next.store(n * t / T, std::memory_order_relaxed);
    ranges_[t].end = n * (t + 1) / T;
  }
  {
    // the increment is published under the mutex so a worker that is about
    // to sleep cannot miss it (it re-checks the generation under the lock)
    std::lock_guard<std::mutex> lk(mu_);
    const unsigned long g = generation_.load(std::memory_order_relaxed) + 1;
    open_.store(g, std::memory_order_relaxed);
    generation_.store(g, std::memory_order_release);
  }
  start_cv_.notify_all();
  run_tasks(0);
  // every index is claimed: close the call, then wait for the workers that
  // joined it (fn must not go out of scope while one may still call it)
  open_.store(0, std::memory_order_seq_cst);
  const auto spin_until = std::chrono::steady_clock::now() + kJoinSpinFor;
  unsigned spins = 0;
  while (active_.load(std::memory_order_seq_cst) != 0) {
    cpu_relax();
    if ((++spins & 63) == 0 && std::chrono::steady_clock::now() > spin_until) {
      std::unique_lock<std::mutex> lk(mu_);
      caller_waiting_.store(true, std::memory_order_seq_cst);
      done_cv_.wait(lk, [&] { return active_.load(std::memory_order_seq_cst) == 0; });
      caller_waiting_.store(false, std::memory_order_relaxed);
      break;
    }
  }
  fn_ = nullptr;
}

}  // namespace litepose::ops
