// CPU feature detection.  x86-64: the compiler's cpuid builtins (which also
// check that the OS saves AVX/AVX-512 state).  aarch64: the kernel's HWCAP
// bits, the only reliable source on Linux (user space cannot read ID regs
// portably).  Read once, cached.
#include "ops/cpu.h"

#include <fstream>
#include <thread>

#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1 << 1)
#endif
#ifndef HWCAP_ASIMDHP
#define HWCAP_ASIMDHP (1 << 10)
#endif
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#endif

namespace litepose::ops {

static std::string read_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    for (const char* key : {"model name", "Model", "CPU part"}) {
      if (line.rfind(key, 0) == 0) {
        auto pos = line.find(':');
        if (pos != std::string::npos) {
          auto v = line.substr(pos + 1);
          auto b = v.find_first_not_of(" \t");
          return b == std::string::npos ? std::string() : v.substr(b);
        }
      }
    }
  }
  return "unknown";
}

static CpuInfo detect() {
  CpuInfo c;
  c.model = read_model();
  c.hardware_threads = static_cast<int>(std::thread::hardware_concurrency());
  if (c.hardware_threads < 1) c.hardware_threads = 1;
#if defined(__x86_64__) || defined(_M_X64)
  c.arch = "x86_64";
  __builtin_cpu_init();
  c.avx2 = __builtin_cpu_supports("avx2");
  c.fma = __builtin_cpu_supports("fma");
  c.avx512f = __builtin_cpu_supports("avx512f");
#elif defined(__aarch64__)
  c.arch = "aarch64";
#if defined(__linux__)
  unsigned long hw = getauxval(AT_HWCAP);
  c.neon = (hw & HWCAP_ASIMD) != 0;
  c.fp16 = (hw & HWCAP_ASIMDHP) != 0;
  c.dotprod = (hw & HWCAP_ASIMDDP) != 0;
#else
  c.neon = true;
#endif
#else
  c.arch = "other";
#endif
  return c;
}

std::vector<std::string> CpuInfo::features() const {
  std::vector<std::string> f;
  if (avx2) f.push_back("avx2");
  if (fma) f.push_back("fma");
  if (avx512f) f.push_back("avx512f");
  if (neon) f.push_back("neon");
  if (fp16) f.push_back("fp16");
  if (dotprod) f.push_back("dotprod");
  return f;
}

std::string compiler_version() {
#if defined(__VERSION__)
  return __VERSION__;
#else
  return "unknown";
#endif
}

std::string compiler_flags() {
#if defined(LITEPOSE_CXX_FLAGS)
  return LITEPOSE_CXX_FLAGS;
#else
  return "";
#endif
}

const CpuInfo& cpu_info() {
  static const CpuInfo info = detect();
  return info;
}

}  // namespace litepose::ops
