// The persistent thread pool (ops/threadpool.h): every index of every call
// runs exactly once, on a valid thread index, across many back-to-back calls
// (the case where a late worker could join a call that has already closed),
// with more threads than cores, with uneven task costs, and with tracing on.
// The ASan/UBSan build of the test script runs these too: a worker touching
// a finished call's `fn` (a stack object of the caller) is a use after scope.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "ops/threadpool.h"
#include "testing.h"

#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#endif

using litepose::ops::ThreadPool;

namespace {

// Runs `calls` parallel_for calls of n indices each; checks every index ran
// once per call and thread indices are in range.  Each call's fn and counters
// live on the stack of that iteration only.
void check_exactly_once(ThreadPool& pool, size_t n, int calls, int spin_every = 0) {
  for (int c = 0; c < calls; ++c) {
    std::unique_ptr<std::atomic<int>[]> hits(new std::atomic<int>[n ? n : 1]);
    for (size_t i = 0; i < n; ++i) hits[i] = 0;
    std::atomic<int> bad_thread{0};
    const int T = pool.num_threads();
    pool.parallel_for(n, [&](size_t i, int thread) {
      if (thread < 0 || thread >= T) bad_thread.fetch_add(1);
      hits[i].fetch_add(1);
      if (spin_every && i % static_cast<size_t>(spin_every) == 0) {  // uneven costs
        const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(50);
        while (std::chrono::steady_clock::now() < until) {
        }
      }
    });
    int wrong = 0;
    for (size_t i = 0; i < n; ++i) wrong += hits[i].load() != 1;
    CHECK_MSG(wrong == 0, wrong << " of " << n << " indices did not run exactly once (call " << c << ", threads "
                                << T << ")");
    CHECK_MSG(bad_thread.load() == 0, "thread index out of range");
  }
}

}  // namespace

TEST(every_index_runs_exactly_once_for_all_sizes_and_thread_counts) {
  for (int threads : {1, 2, 3, 5, 8})
    for (size_t n : {0, 1, 2, 3, 4, 7, 8, 9, 31, 64, 1000}) {
      ThreadPool pool(threads);
      check_exactly_once(pool, n, 20);
    }
}

TEST(back_to_back_calls_never_lose_or_repeat_an_index) {
  // thousands of tiny calls: workers wake late, join closed calls, steal
  for (int threads : {2, 4, 8}) {
    ThreadPool pool(threads);
    check_exactly_once(pool, 2, 5000);
    check_exactly_once(pool, static_cast<size_t>(threads) * 4, 2000);
  }
}

TEST(uneven_tasks_and_more_threads_than_cores) {
  const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  ThreadPool pool(2 * hw + 1);
  check_exactly_once(pool, 97, 50, 3);
  // and with other busy threads competing for the cores
  std::atomic<bool> stop{false};
  std::vector<std::thread> burners;
  for (int i = 0; i < hw; ++i)
    burners.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
      }
    });
  ThreadPool small(2);
  check_exactly_once(small, 8, 500, 2);
  check_exactly_once(pool, 33, 50, 5);
  stop = true;
  for (auto& t : burners) t.join();
}

TEST(affinity_ranges_are_contiguous_when_nothing_is_stolen) {
  // One thread: indices run in order.  Two threads with the caller's
  // range done first: the tasks each thread ran, in its order, increase.
  ThreadPool one(1);
  std::vector<size_t> order;
  one.parallel_for(10, [&](size_t i, int) { order.push_back(i); });
  bool increasing = order.size() == 10;
  for (size_t i = 0; i < order.size(); ++i) increasing &= order[i] == i;
  CHECK(increasing);

  ThreadPool two(2);
  std::vector<size_t> per[2];
  two.parallel_for(16, [&](size_t i, int t) { per[t].push_back(i); });
  // the caller (thread 0) starts with the first index of its own range
  // [0, 8) that the worker has not taken: 0, unless the worker ran out of
  // its own range and stole from the front of the caller's before the
  // caller claimed anything (seen under qemu on a loaded host)
  size_t first_free = 0;
  while (first_free < 8 && std::find(per[1].begin(), per[1].end(), first_free) != per[1].end()) ++first_free;
  CHECK(per[0].empty() ? first_free == 8 : per[0][0] == first_free);
  for (auto& v : per)
    for (size_t i = 1; i < v.size(); ++i)
      // within one range indices are claimed in order; a thread visits its
      // own range before the other one, so its sequence increases except
      // where it moves on to the other thread's range
      CHECK(v[i] > v[i - 1] || (v[i - 1] < 8) != (v[i] < 8));
  CHECK(per[0].size() + per[1].size() == 16);
}

TEST(tracing_records_one_span_per_task) {
  ThreadPool pool(3);
  pool.set_tracing(true);
  pool.parallel_for(12, [](size_t, int) {});
  pool.parallel_for(5, [](size_t, int) {});
  const auto spans = pool.take_spans();
  CHECK(spans.size() == 17);
  for (const auto& s : spans) CHECK(s.thread >= 0 && s.thread < 3 && s.end >= s.start);
  CHECK(pool.take_spans().empty());
}

TEST(wake_from_other_threads_while_calls_run_loses_nothing) {
  // wake() races with calls opening and closing, with workers going to
  // sleep and with each other; every index must still run exactly once
  // (the TSan step runs this too)
  for (int threads : {1, 2, 4}) {
    ThreadPool pool(threads);
    std::atomic<bool> done{false};
    std::vector<std::thread> wakers;
    for (int k = 0; k < 2; ++k)
      wakers.emplace_back([&, k] {
        for (int i = 0; !done.load(); ++i) {
          pool.wake(std::chrono::microseconds((i * 37 + k * 11) % 2000));
          if (i % 8 == 0) std::this_thread::sleep_for(std::chrono::microseconds(300));
        }
      });
    check_exactly_once(pool, 2, 2000);
    check_exactly_once(pool, static_cast<size_t>(threads) * 4, 500);
    for (int c = 0; c < 20; ++c) {  // calls after idle gaps: workers asleep, then woken
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      check_exactly_once(pool, 9, 1);
    }
    done = true;
    for (auto& t : wakers) t.join();
  }
}

TEST(a_pending_wake_does_not_delay_destruction) {
  // workers spinning towards a wake() deadline far away still stop at once
  const auto t0 = std::chrono::steady_clock::now();
  {
    ThreadPool pool(3);
    pool.wake(std::chrono::seconds(60));
    pool.parallel_for(6, [](size_t, int) {});
    pool.wake(std::chrono::seconds(60));
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK_MSG(s < 30, "destroying a woken pool took " << s << " s (its wake deadline was 60 s away)");
}

#if defined(__linux__)
TEST(pinning_binds_each_thread_to_its_own_allowed_cpu_and_restores_the_caller) {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  CHECK(sched_getaffinity(0, sizeof allowed, &allowed) == 0);
  const int ncpu = CPU_COUNT(&allowed);
  for (int threads : {2, 3, ncpu, ncpu + 1}) {
    if (threads < 2) continue;
    ThreadPool pool(threads, /*pin=*/true);
    const std::vector<int>& cpus = pool.cpus();
    if (threads > ncpu) {  // fewer allowed CPUs than threads: no pinning
      CHECK(cpus.empty());
      check_exactly_once(pool, 64, 5);
      continue;
    }
    CHECK_MSG(cpus.size() == static_cast<size_t>(threads), cpus.size() << " cpus for " << threads << " threads");
    std::vector<int> sorted = cpus;
    std::sort(sorted.begin(), sorted.end());
    CHECK_MSG(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end(), "a CPU chosen twice");
    for (int c : cpus) CHECK_MSG(CPU_ISSET(c, &allowed), "cpu " << c << " is not in the allowed set");
    // every task sees its thread bound to that thread's CPU (the caller only
    // inside a CallerBinding)
    std::atomic<int> wrong{0};
    {
      const ThreadPool::CallerBinding bind(pool);
      pool.parallel_for(256, [&](size_t, int thread) {
        cpu_set_t mine;
        CPU_ZERO(&mine);
        pthread_getaffinity_np(pthread_self(), sizeof mine, &mine);
        if (CPU_COUNT(&mine) != 1 || !CPU_ISSET(cpus[static_cast<size_t>(thread)], &mine)) wrong.fetch_add(1);
      });
    }
    CHECK_MSG(wrong.load() == 0, wrong.load() << " tasks ran on a thread not bound to its CPU");
    cpu_set_t after;
    CPU_ZERO(&after);
    CHECK(pthread_getaffinity_np(pthread_self(), sizeof after, &after) == 0);
    CHECK_MSG(CPU_EQUAL(&after, &allowed), "the caller's CPU mask was not restored");
    check_exactly_once(pool, 1000, 5, 7);
  }
  // not pinning: no binding, the caller's mask untouched
  ThreadPool free_pool(2, /*pin=*/false);
  CHECK(free_pool.cpus().empty());
  {
    const ThreadPool::CallerBinding bind(free_pool);
    cpu_set_t now;
    CPU_ZERO(&now);
    CHECK(pthread_getaffinity_np(pthread_self(), sizeof now, &now) == 0);
    CHECK(CPU_EQUAL(&now, &allowed));
  }
}
#endif

TEST(pinning_order_prefers_big_cores_then_distinct_physical_cores) {
  using litepose::ops::CpuDesc;
  using litepose::ops::pinning_order;
  auto order = [](std::vector<CpuDesc> d) { return pinning_order(d); };
  // big.LITTLE (RK3588-like): CPUs 0-3 LITTLE (capacity 414), 4-7 big (1024)
  std::vector<CpuDesc> bl;
  for (int c = 0; c < 8; ++c) bl.push_back({c, 0, c, c < 4 ? 414L : 1024L});
  CHECK((order(bl) == std::vector<int>{4, 5, 6, 7, 0, 1, 2, 3}));
  // SMT siblings numbered apart (0/4, 1/5, ...): unchanged
  std::vector<CpuDesc> apart, adjacent, unknown;
  for (int c = 0; c < 8; ++c) apart.push_back({c, 0, c % 4, 0});
  CHECK((order(apart) == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
  // siblings numbered next to each other (0/1, 2/3, ...): one per core first
  for (int c = 0; c < 8; ++c) adjacent.push_back({c, 0, c / 2, 0});
  CHECK((order(adjacent) == std::vector<int>{0, 2, 4, 6, 1, 3, 5, 7}));
  // two packages with the same core ids are different cores
  std::vector<CpuDesc> two_pkg = {{0, 0, 0, 0}, {1, 1, 0, 0}, {2, 0, 0, 0}, {3, 1, 0, 0}};
  CHECK((order(two_pkg) == std::vector<int>{0, 1, 2, 3}));
  // nothing known: the given order
  for (int c : {3, 1, 2}) unknown.push_back({c, -1, -1, 0});
  CHECK((order(unknown) == std::vector<int>{3, 1, 2}));
  CHECK(order({}).empty());
}

TEST(zero_threads_is_an_error) {
  bool threw = false;
  try {
    ThreadPool pool(0);
  } catch (const std::exception&) {
    threw = true;
  }
  CHECK(threw);
}
