// Runtime kernel dispatch.
//
// A kernel set is usable when it is compiled in (its translation units were
// built with that ISA's flags, cmake/LiteposeIsa.cmake) and the running CPU
// supports it (ops/cpu.cpp).  Families without a kernel for an ISA use the
// best one below it.  The choice is made per Network at load time and
// reported by name (Network::kernels(), `litepose info`).
#include "ops/dispatch.h"

#include <cstdlib>

#include "kernels/f32-conv/f32-conv.h"
#include "kernels/f32-deconv/f32-deconv-winof3.h"
#include "kernels/f32-deconv/f32-deconv.h"
#include "kernels/f32-dwconv/f32-dwconv.h"
#include "kernels/f32-gemm/f32-gemm.h"
#include "litepose/error.h"
#include "ops/cpu.h"

namespace litepose::ops {
namespace k = litepose::kernels;

static const KernelSet kScalar = {
    "scalar",
    k::f32_gemm_4x8__scalar, 4, 8, "f32-gemm-4x8-scalar",
    k::f32_dwconv_kxk__scalar, "f32-dwconv-kxk-scalar", 1,
    k::f32_deconv_4x4s2__scalar, "f32-deconv-4x4s2-scalar",
    k::f32_conv_kxk__scalar, "f32-conv-kxk-scalar",
    k::f32_deconv_winof3_in__scalar, k::f32_deconv_winof3_out__scalar, "f32-deconv-winof3-scalar",
};

#if defined(LITEPOSE_HAVE_AVX2)
static const KernelSet kAvx2 = {
    "avx2",
    k::f32_gemm_6x16__avx2, 6, 16, "f32-gemm-6x16-avx2",
    k::f32_dwconv_kxk__avx2, "f32-dwconv-kxk-avx2", 2,
    k::f32_deconv_4x4s2__avx2, "f32-deconv-4x4s2-avx2",
    k::f32_conv_kxk__avx2, "f32-conv-kxk-avx2",
    k::f32_deconv_winof3_in__avx2, k::f32_deconv_winof3_out__avx2, "f32-deconv-winof3-avx2",
};
#endif
#if defined(LITEPOSE_HAVE_AVX512F)
static const KernelSet kAvx512 = {
    "avx512f",
    k::f32_gemm_8x32__avx512f, 8, 32, "f32-gemm-8x32-avx512f",
    k::f32_dwconv_kxk__avx512f, "f32-dwconv-kxk-avx512f", 3,
    k::f32_deconv_4x4s2__avx512f, "f32-deconv-4x4s2-avx512f",
    k::f32_conv_kxk__avx2, "f32-conv-kxk-avx2",
    k::f32_deconv_winof3_in__avx512f, k::f32_deconv_winof3_out__avx512f, "f32-deconv-winof3-avx512f",
};
#endif
#if defined(LITEPOSE_HAVE_NEON)
static const KernelSet kNeon = {
    "neon",
    k::f32_gemm_8x8__neon, 8, 8, "f32-gemm-8x8-neon",
    k::f32_dwconv_kxk__neon, "f32-dwconv-kxk-neon", 1,
    k::f32_deconv_4x4s2__neon, "f32-deconv-4x4s2-neon",
    k::f32_conv_kxk__scalar, "f32-conv-kxk-scalar",
    k::f32_deconv_winof3_in__neon, k::f32_deconv_winof3_out__neon, "f32-deconv-winof3-neon",
};
#endif

size_t dwconv_row_group(const KernelSet& ks, int k, int stride) {
  if (ks.dwconv_rows >= 3 && (stride != 1 || k < 5)) return 2;
  return ks.dwconv_rows;
}

std::vector<std::string> compiled_isas() {
  std::vector<std::string> v;
#if defined(LITEPOSE_HAVE_AVX512F)
  v.push_back("avx512f");
#endif
#if defined(LITEPOSE_HAVE_AVX2)
  v.push_back("avx2");
#endif
#if defined(LITEPOSE_HAVE_NEON)
  v.push_back("neon");
#endif
  v.push_back("scalar");
  return v;
}

std::vector<const KernelSet*> available_kernel_sets() {
  std::vector<const KernelSet*> v;
  const CpuInfo& cpu = cpu_info();
  (void)cpu;
#if defined(LITEPOSE_HAVE_AVX512F)
  if (cpu.avx512f && cpu.avx2 && cpu.fma) v.push_back(&kAvx512);
#endif
#if defined(LITEPOSE_HAVE_AVX2)
  if (cpu.avx2 && cpu.fma) v.push_back(&kAvx2);
#endif
#if defined(LITEPOSE_HAVE_NEON)
  if (cpu.neon) v.push_back(&kNeon);
#endif
  v.push_back(&kScalar);
  return v;
}

const KernelSet& select_kernels(const std::string& requested) {
  std::string isa = requested;
  if (isa.empty() || isa == "auto") {
    const char* env = std::getenv("LITEPOSE_ISA");
    isa = env && *env ? env : "auto";
  }
  auto sets = available_kernel_sets();
  if (isa == "auto") return *sets.front();
  for (const KernelSet* s : sets)
    if (isa == s->isa) return *s;
  std::string have;
  for (const KernelSet* s : sets) have += std::string(have.empty() ? "" : ", ") + s->isa;
  std::string built;
  for (const auto& s : compiled_isas()) built += std::string(built.empty() ? "" : ", ") + s;
  throw InputError("ISA '" + isa + "' is not available: this CPU and build support " + have +
                   " (compiled in: " + built + ")");
}

}  // namespace litepose::ops
