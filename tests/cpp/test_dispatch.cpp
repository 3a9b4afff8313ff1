// Kernel dispatch: which kernel set this CPU gets, and why.
//
// Always (any machine): the automatic choice is the first available set;
// every available set is one the CPU supports according to cpu_info(); every
// kernel of a set is present and named after its ISA (or a lower one it
// falls back to); LITEPOSE_ISA overrides are honoured.
//
// When the environment says what to expect (the aarch64 lane sets these per
// emulated CPU, scripts/aarch64_lane.sh) the choice is asserted:
//   LITEPOSE_EXPECT_ISA=neon                  ops::select_kernels("") is "neon"
//   LITEPOSE_EXPECT_FEATURES=neon,-fp16,-dotprod
//       cpu_info() has neon and has neither fp16 nor dotprod ("-x": absent).
// Unset or empty: nothing asserted beyond consistency, so an x86 build never
// depends on which AVX level the CI machine happens to have.
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "ops/cpu.h"
#include "ops/dispatch.h"
#include "testing.h"

using namespace litepose;

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::vector<std::string> split_csv(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

bool has_feature(const ops::CpuInfo& c, const std::string& f) {
  for (const auto& x : c.features())
    if (x == f) return true;
  return false;
}

// Is kernel set `isa` something this CPU may execute, per cpu_info()?
bool supported(const ops::CpuInfo& c, const std::string& isa) {
  if (isa == "scalar") return true;
  if (isa == "avx2") return c.avx2 && c.fma;
  if (isa == "avx512f") return c.avx512f && c.avx2 && c.fma;
  if (isa == "neon") return c.neon;
  return false;  // an ISA this test does not know: add it here
}

std::string describe(const ops::CpuInfo& c) {
  std::string s = c.arch + " [";
  for (const auto& f : c.features()) s += " " + f;
  return s + " ] model '" + c.model + "'";
}

// Restores LITEPOSE_ISA after a test changes it.
struct IsaEnv {
  std::string saved;
  bool had;
  IsaEnv() : had(std::getenv("LITEPOSE_ISA") != nullptr) { saved = env("LITEPOSE_ISA"); }
  ~IsaEnv() {
    if (had) setenv("LITEPOSE_ISA", saved.c_str(), 1);
    else unsetenv("LITEPOSE_ISA");
  }
};

}  // namespace

TEST(report) {
  // Not a check: makes the lane's log say what each emulated CPU got.
  const auto& c = ops::cpu_info();
  IsaEnv guard;
  unsetenv("LITEPOSE_ISA");
  const auto& ks = ops::select_kernels("");
  std::printf("cpu: %s\nkernels: %s (%s, %s, %s, %s, %s)\n", describe(c).c_str(), ks.isa, ks.gemm_name,
              ks.dwconv_name, ks.deconv_name, ks.deconv_wino_name, ks.conv_name);
}

TEST(auto_choice_is_first_available_and_supported) {
  IsaEnv guard;
  unsetenv("LITEPOSE_ISA");
  const auto& c = ops::cpu_info();
  auto sets = ops::available_kernel_sets();
  CHECK(!sets.empty());
  CHECK(&ops::select_kernels("") == sets.front());
  CHECK(&ops::select_kernels("auto") == sets.front());
  for (const ops::KernelSet* s : sets) {
    CHECK_MSG(supported(c, s->isa), s->isa << " offered but cpu_info says " << describe(c));
    CHECK(s->gemm && s->dwconv && s->deconv && s->conv && s->deconv_wino_in && s->deconv_wino_out);
    CHECK(s->gemm_mr >= 1 && s->gemm_nr >= 1);
    for (const char* name : {s->gemm_name, s->dwconv_name, s->deconv_name, s->deconv_wino_name, s->conv_name}) {
      // kernels are named <family>-<tile>-<isa>; a family may fall back to
      // "scalar" (or avx2 under avx512f) but never to another architecture
      std::string n = name, isa_of = n.substr(n.rfind('-') + 1);
      CHECK_MSG(isa_of == s->isa || isa_of == "scalar" || supported(c, isa_of),
                s->isa << " uses " << n);
    }
  }
  // every compiled ISA that the CPU supports is offered
  for (const auto& isa : ops::compiled_isas()) {
    bool offered = false;
    for (const ops::KernelSet* s : sets) offered = offered || isa == s->isa;
    CHECK_MSG(offered == supported(c, isa), isa << " offered=" << offered << " on " << describe(c));
  }
}

TEST(isa_override_selects_each_available_set) {
  IsaEnv guard;
  for (const ops::KernelSet* s : ops::available_kernel_sets()) {
    CHECK(std::string(ops::select_kernels(s->isa).isa) == s->isa);
    setenv("LITEPOSE_ISA", s->isa, 1);
    CHECK(std::string(ops::select_kernels("").isa) == s->isa);
  }
  unsetenv("LITEPOSE_ISA");
  CHECK_THROWS(ops::select_kernels("no-such-isa"));
}

TEST(arch_matches_build) {
  const auto& c = ops::cpu_info();
#if defined(__aarch64__)
  CHECK(c.arch == "aarch64");
  CHECK_MSG(c.neon, "ASIMD is mandatory on armv8-a: " << describe(c));
  CHECK(!c.avx2 && !c.fma && !c.avx512f);
#elif defined(__x86_64__)
  CHECK(c.arch == "x86_64");
  CHECK(!c.neon && !c.fp16 && !c.dotprod);
#endif
}

TEST(expected_isa_from_env) {
  const std::string want = env("LITEPOSE_EXPECT_ISA");
  if (want.empty()) return;
  IsaEnv guard;
  unsetenv("LITEPOSE_ISA");
  const auto& ks = ops::select_kernels("");
  CHECK_MSG(want == ks.isa, "expected kernel set " << want << ", got " << ks.isa << " on "
                                                   << describe(ops::cpu_info()));
}

TEST(expected_features_from_env) {
  const auto& c = ops::cpu_info();
  for (const auto& f : split_csv(env("LITEPOSE_EXPECT_FEATURES"))) {
    if (f[0] == '-')
      CHECK_MSG(!has_feature(c, f.substr(1)), "feature " << f.substr(1) << " must be absent: "
                                                         << describe(c));
    else
      CHECK_MSG(has_feature(c, f), "feature " << f << " missing: " << describe(c));
  }
}
