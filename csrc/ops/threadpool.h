// A persistent thread pool: threads start once (per Network); no thread is
// created per forward pass.  Between parallel_for calls a worker first spins
// for a short, bounded time (a forward pass issues ~100-150 of them back to
// back, and a futex wake-up per layer costs more than small layers take),
// then sleeps on a condition variable, so an idle pool costs no CPU.
//
// parallel_for(n, fn) runs fn(i) for i in [0, n) on the pool and the calling
// thread.  Affinity with stealing: thread t owns the contiguous index range
// [t*n/T, (t+1)*n/T) and takes its indices in order; a thread that runs out
// takes the next unclaimed index of the other ranges (every index is claimed
// through its range's atomic counter, so each runs exactly once).  The ops
// layer splits consecutive layers alike (thread t gets the same fraction of
// the rows in each), so a thread mostly reads rows that it wrote itself in
// the layer before and that are still in its own L2, instead of moving them
// between cores (measured on Zen 4: dynamic assignment made the stage-3
// GEMM tasks 1.5-2x slower at 2 threads than at 1).  Stealing keeps the
// balance when a core is slow or busy.
//
// Oversubscription (another process busy on the cores): a call does not
// wait for workers that have not joined it.  When every index is claimed the
// caller closes the call; a worker that wakes later sees it closed and goes
// back to waiting without touching it.  The caller waits only for workers
// that joined in time, spinning for up to 1 ms and then sleeping, so its
// core is free for a joined worker that the OS has preempted.  (Requiring every
// worker to join every call, with a spinning caller, measured 4-10x slower
// than one thread when one other busy process shared the two cores.)
//
// Pinning (pin = true, the Network default): the pool binds each thread to
// its own CPU of the process's allowed set (in pinning_order(): big cores
// and distinct physical cores first), worker i to cpus()[i], and a
// CallerBinding binds the calling thread to cpus()[0] for the duration of a
// forward pass (its own mask is restored afterwards).  Pools take their
// CPUs in turn from a process-wide counter, so several pools spread out.
// Why: on the 2-vCPU VM the guest scheduler sometimes wakes the worker onto
// the caller's vCPU (when the host has just preempted the other one) and
// keeps both there for milliseconds, each waiting for the other in the run
// queue while the second vCPU idles; unpinned, 11-15 of 40 XS forward
// passes after a 50 ms gap ran that way (3-8 ms of run-queue wait per
// thread, the threads swapping vCPUs).  Pinned, that cannot happen: XS at 2
// threads, 100 alternating passes each after 50 ms gaps, median 15.15 ->
// 11.31 ms (p75 17.1 -> 13.1), and with another busy process on the two
// vCPUs 26.6 -> 21.2 ms.  No pinning when the allowed set has fewer CPUs
// than the pool has threads, with one thread, or off Linux.
//
// wake(d): a frame is coming.  Sleeping workers are woken now and spin
// (instead of sleeping) until the next parallel_for or for at most d, so
// the wake-up of an idle core overlaps whatever the caller does first
// (preprocessing) instead of delaying the first layers.  Safe to call from
// any thread at any time; it never blocks on a running parallel_for.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace litepose::ops {

class ThreadPool {
 public:
  explicit ThreadPool(int num_threads, bool pin = false);  // total threads, caller included
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return static_cast<int>(workers_.size()) + 1; }
  // fn(task, thread_index).  Not reentrant; one parallel_for at a time.
  void parallel_for(size_t n, const std::function<void(size_t, int)>& fn);
  void wake(std::chrono::microseconds spin_for);

  // The CPUs the threads are bound to (thread i: cpus()[i]); empty when the
  // pool does not pin.
  const std::vector<int>& cpus() const { return cpus_; }
  // While alive, binds the calling thread to cpus()[0] (when the pool pins
  // and that CPU is in the thread's own mask) and restores its mask after.
  class CallerBinding {
   public:
    explicit CallerBinding(const ThreadPool& pool);
    ~CallerBinding();
    CallerBinding(const CallerBinding&) = delete;
    CallerBinding& operator=(const CallerBinding&) = delete;

   private:
    bool bound_ = false;
    std::vector<unsigned char> saved_;  // the caller's cpu_set_t
  };

  // Tracing (profiling): when on, every task's [start, end) on its thread
  // is recorded; take_spans() returns and clears them.  Off costs one
  // branch per task.
  struct Span {
    int thread;
    std::chrono::steady_clock::time_point start, end;
  };
  void set_tracing(bool on) { tracing_ = on; }
  bool tracing() const { return tracing_; }
  std::vector<Span> take_spans();

 private:
  void worker_loop(int index);
  void run_tasks(int index);

  std::vector<int> cpus_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable start_cv_;
  const std::function<void(size_t, int)>* fn_ = nullptr;
  struct alignas(64) Range {  // one per thread, on its own cache line
    std::atomic<size_t> next{0};
    size_t end = 0;
  };
  std::unique_ptr<Range[]> ranges_;
  std::atomic<int> active_{0};            // workers inside the current call
  std::atomic<unsigned long> open_{0};    // generation of the open call, 0 once closed
  std::atomic<bool> caller_waiting_{false};
  std::condition_variable done_cv_;
  std::atomic<unsigned long> generation_{0};
  std::atomic<unsigned long> wakes_{0};              // wake() calls
  std::atomic<std::chrono::steady_clock::rep> spin_until_{0};  // latest wake() deadline
  std::atomic<bool> stop_{false};
  bool tracing_ = false;
  std::vector<std::vector<Span>> spans_;  // per thread; each written only by its thread
  void run_one(size_t i, int index);
};

// The order in which a pinning pool takes CPUs: the highest capacity first
// (arm64 cpu_capacity, else the maximum clock: big before LITTLE cores,
// P- before E-cores), then one hardware thread of every physical core
// before any core's second, then the given order.  Unknown fields (-1 for
// package/core, 0 for capacity) compare equal.
struct CpuDesc {
  int cpu = 0;
  long package = -1, core = -1;
  long capacity = 0;
};
std::vector<int> pinning_order(const std::vector<CpuDesc>& cpus);

// Default thread count: LITEPOSE_NUM_THREADS if set and valid, else the
// hardware thread count.
int default_num_threads();

}  // namespace litepose::ops
