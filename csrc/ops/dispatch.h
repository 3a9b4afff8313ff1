// Kernel choice: one KernelSet per ISA, the best one the CPU supports chosen
// once (overridable by NetworkOptions::isa or the LITEPOSE_ISA environment
// variable, so tests can run every ISA the machine has).
#pragma once

#include <string>
#include <vector>

#include "kernels/f32-deconv/f32-deconv-winof3.h"
#include "kernels/kernels.h"

namespace litepose::ops {

struct KernelSet {
  const char* isa;            // "scalar", "avx2", "avx512f", "neon"
  kernels::GemmFn gemm;
  size_t gemm_mr, gemm_nr;    // tile rows, packed panel width
  const char* gemm_name;
  kernels::DwConvFn dwconv;
  const char* dwconv_name;
  size_t dwconv_rows;         // output rows the kernel computes together (see dwconv_row_group)
  kernels::DeconvFn deconv;
  const char* deconv_name;
  kernels::ConvFn conv;
  const char* conv_name;
  // Winograd transforms of the head's deconvolution (ops/deconv_pair.h)
  kernels::DeconvWinoInFn deconv_wino_in;
  kernels::DeconvWinoOutFn deconv_wino_out;
  const char* deconv_wino_name;
};

// Output rows the depthwise kernel computes together for a k x k layer of
// this stride: row splits in multiples of it keep the kernel's row groups
// whole (AVX-512: 3 at stride 1 with k >= 5, pairs otherwise; AVX2: pairs;
// NEON and scalar: single rows).
size_t dwconv_row_group(const KernelSet& ks, int k, int stride);

// Every kernel set compiled in and supported by this CPU, best first.
std::vector<const KernelSet*> available_kernel_sets();
// Names of every ISA compiled into this build (supported or not).
std::vector<std::string> compiled_isas();
// The set for `isa` ("" or "auto": LITEPOSE_ISA if set, else the best).
// Throws InputError for an unknown or unsupported ISA.
const KernelSet& select_kernels(const std::string& isa);

}  // namespace litepose::ops
