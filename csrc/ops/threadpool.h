// A persistent thread pool: threads start once (per Network) and sleep on a
// condition variable between calls; no thread is created per forward pass.
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
  std::condition_variable start_cv_, done_cv_;
  const std::function<void(size_t, int)>* fn_ = nullptr;
  size_t n_ = 0;
  std::atomic<size_t> next_{0};
  int active_ = 0;
  unsigned long generation_ = 0;
  bool stop_ = false;
  bool tracing_ = false;
  std::vector<std::vector<Span>> spans_;  // per thread; each written only by its thread
  void run_one(size_t i, int index);
};

// Default thread count: LITEPOSE_NUM_THREADS if set and valid, else the
// hardware thread count.
int default_num_threads();

}  // namespace litepose::ops
