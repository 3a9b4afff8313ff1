// A minimal self-contained test harness for the C++ tests (no download, no
// dependency).  TEST(name) { ... } registers a case; CHECK* record failures
// with file:line; main() runs every case and prints a ctest-friendly summary
// "N passed, N failed".
#pragma once

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace lptest {

struct Case {
  const char* name;
  std::function<void()> fn;
};
inline std::vector<Case>& registry() {
  static std::vector<Case> r;
  return r;
}
inline int& failures() {
  static int f = 0;
  return f;
}
struct Registrar {
  Registrar(const char* n, std::function<void()> f) { registry().push_back({n, std::move(f)}); }
};
inline void fail(const char* file, int line, const std::string& msg) {
  ++failures();
  std::fprintf(stderr, "%s:%d: FAILED: %s\n", file, line, msg.c_str());
}

// n floats from N(0, scale^2), reproducible for a seed.
inline std::vector<float> randn(size_t n, unsigned seed, float scale = 1.f) {
  std::mt19937 g(seed);
  std::normal_distribution<float> d(0.f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(g);
  return v;
}

}  // namespace lptest

#define LP_CAT2(a, b) a##b
#define LP_CAT(a, b) LP_CAT2(a, b)
#define TEST(name)                                                        \
  static void name();                                                     \
  static ::lptest::Registrar LP_CAT(reg_, name)(#name, name);            \
  static void name()

#define CHECK(cond)                                                                 \
  do {                                                                              \
    if (!(cond)) ::lptest::fail(__FILE__, __LINE__, "CHECK(" #cond ")");            \
  } while (0)

#define CHECK_MSG(cond, msg)                                                        \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::ostringstream lp_os;                                                     \
      lp_os << "CHECK(" #cond ") " << msg;                                          \
      ::lptest::fail(__FILE__, __LINE__, lp_os.str());                              \
    }                                                                               \
  } while (0)

#define CHECK_NEAR(a, b, tol)                                                       \
  do {                                                                              \
    double lp_a = (a), lp_b = (b), lp_t = (tol);                                    \
    if (!(std::fabs(lp_a - lp_b) <= lp_t)) {                                        \
      std::ostringstream lp_os;                                                     \
      lp_os << #a " = " << lp_a << " vs " #b " = " << lp_b << " (tol " << lp_t << ")"; \
      ::lptest::fail(__FILE__, __LINE__, lp_os.str());                              \
    }                                                                               \
  } while (0)

#define CHECK_THROWS(expr)                                                          \
  do {                                                                              \
    bool lp_threw = false;                                                          \
    try {                                                                           \
      (void)(expr);                                                                 \
    } catch (const std::exception&) {                                               \
      lp_threw = true;                                                              \
    }                                                                               \
    if (!lp_threw) ::lptest::fail(__FILE__, __LINE__, "expected an exception: " #expr); \
  } while (0)

int main() {
  int passed = 0, failed = 0;
  for (auto& c : ::lptest::registry()) {
    int before = ::lptest::failures();
    try {
      c.fn();
    } catch (const std::exception& e) {
      ::lptest::fail(__FILE__, __LINE__, std::string(c.name) + " threw: " + e.what());
    }
    bool ok = ::lptest::failures() == before;
    std::printf("[%s] %s\n", ok ? "  OK  " : " FAIL ", c.name);
    (ok ? passed : failed)++;
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
