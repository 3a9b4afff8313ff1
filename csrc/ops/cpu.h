// CPU feature detection (once per process) for kernel dispatch and `info`.
#pragma once

#include <string>
#include <vector>

namespace litepose::ops {

struct CpuInfo {
  std::string model;                  // e.g. "AMD EPYC" (from /proc/cpuinfo)
  std::string arch;                   // "x86_64", "aarch64", ...
  int hardware_threads = 1;
  bool avx2 = false, fma = false, avx512f = false;       // x86-64
  bool neon = false, fp16 = false, dotprod = false;      // aarch64 (asimdhp, asimddp)
  std::vector<std::string> features() const;            // the flags above that are set
};

const CpuInfo& cpu_info();

// How this core was compiled: compiler version and flags.
std::string compiler_version();
std::string compiler_flags();

}  // namespace litepose::ops
