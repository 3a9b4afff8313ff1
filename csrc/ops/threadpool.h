// A persistent thread pool: threads start once (per Network); no thread is
// created per forward pass.  Between parallel_for calls a worker first spins
// for a short, bounded time (a forward pass issues ~100-150 of them back to
// back, and a futex wake-up per layer costs more than small layers take),
// then sleeps on a condition variable, so an idle pool costs no CPU.
// parallel_for(n, fn) runs fn(i) for i in [0, n) on the pool and the calling
// thread, handing out indices through an atomic counter (dynamic balance).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace litepose::ops {

class ThreadPool {
 public:
  explicit ThreadPool(int num_threads);  // total threads, caller included
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return static_cast<int>(workers_.size()) + 1; }
  // fn(task, thread_index).  Not reentrant; one parallel_for at a time.
  void parallel_for(size_t n, const std::function<void(size_t, int)>& fn);

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

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable start_cv_;
  const std::function<void(size_t, int)>* fn_ = nullptr;
  size_t n_ = 0;
  std::atomic<size_t> next_{0};
  std::atomic<int> active_{0};            // workers still running the current call
  std::atomic<unsigned long> generation_{0};
  std::atomic<bool> stop_{false};
  bool tracing_ = false;
  std::vector<std::vector<Span>> spans_;  // per thread; each written only by its thread
  void run_one(size_t i, int index);
};

// Default thread count: LITEPOSE_NUM_THREADS if set and valid, else the
// hardware thread count.
int default_num_threads();

}  // namespace litepose::ops
