// The head's deconvolution pair: r = clamp(deconv(refined) + bias +
// deconv(raw)), two 4x4 stride-2 transposed convolutions of two inputs of
// the same size summed into one output (the official model's
// deconv_refined.i + deconv_raw.i, then BN folded into the bias and ReLU).
//
// Whole groups of 6 output rows (3 rows of every output phase, aligned to
// multiples of 6) run through Winograd F(3x3, 2x2) per phase
// (kernels/f32-deconv/f32-deconv-winof3.h): per phase, the input transform
// of the tile row, 16 GEMMs over both inputs' channels with the ISA's GEMM
// kernel, the output transform; 2.25x fewer multiplies than the direct
// kernel.  Rows outside whole groups (a range's ragged ends, the image's
// last rows when 2H is no multiple of 6) run the direct kernel twice
// (refined, then raw accumulated), as does everything when Winograd is off
// (DeconvPairWeights::wino null, or a kernel set without the transforms).
#pragma once

#include "kernels/f32-deconv/f32-deconv-winof3.h"
#include "kernels/kernels.h"
#include "ops/aligned.h"
#include "ops/dispatch.h"
#include "ops/threadpool.h"

namespace litepose::ops {

constexpr size_t kDeconvWinoRows = 6;  // output rows per Winograd tile row

struct DeconvPairParams {
  kernels::DeconvParams refined;  // accumulate false, no clamp
  kernels::DeconvParams raw;      // accumulate true, the final clamp
  kernels::DeconvWinoParams wino;
};
DeconvPairParams deconv_pair_params(size_t in_h, size_t in_w, size_t ci_refined, size_t ci_raw, size_t co,
                                    float min, float max);

struct DeconvPairWeights {
  const float* refined_w;  // pack_deconv_weights
  const float* bias;
  const float* raw_w;
  const float* wino;       // pack_deconv_wino_weights, or null: direct only
};

// U = G g G^T of both deconvolutions (their pack_deconv_weights layouts),
// the refined input's channels first: for phase ph, position xi, the
// GEMM-packed [K = ci0 + ci1][co] matrix (pack_gemm_weights, zero bias,
// panel width nr) at ph * 16 + xi times deconv_wino_matrix_floats().
AlignedBuffer pack_deconv_wino_weights(const float* refined_packed, size_t ci0, const float* raw_packed,
                                       size_t ci1, size_t co, size_t nr);
size_t deconv_wino_matrix_floats(size_t k, size_t co, size_t nr);

// Scratch of one thread running deconv_pair_rows or deconv_pair_groups.
size_t deconv_pair_scratch_floats(const DeconvPairParams& p);

// Output rows [0, deconv_wino_full_rows) lie in whole Winograd groups.
inline size_t deconv_wino_full_rows(const DeconvPairParams& p) {
  return 2 * p.wino.in_h / kDeconvWinoRows * kDeconvWinoRows;
}
// Tile rows (groups) per GEMM pass.
size_t deconv_wino_batch(const DeconvPairParams& p);

// The parts of deconv_pair_rows: Winograd groups [g0, g1) (output rows,
// multiples of 6, g1 <= deconv_wino_full_rows) of phases [ph0, ph1),
// storing rows [oy0, oy1) only; the direct kernels on rows [oy0, oy1).
void deconv_pair_groups(const KernelSet& ks, const DeconvPairParams& p, const DeconvPairWeights& w,
                        const float* refined, const float* raw, float* out, size_t g0, size_t g1, int ph0, int ph1,
                        size_t oy0, size_t oy1, float* scratch);
void deconv_pair_direct(const KernelSet& ks, const DeconvPairParams& p, const DeconvPairWeights& w,
                        const float* refined, const float* raw, float* out, size_t oy0, size_t oy1);

// Output rows [oy0, oy1) on the calling thread.
void deconv_pair_rows(const KernelSet& ks, const DeconvPairParams& p, const DeconvPairWeights& w,
                      const float* refined, const float* raw, float* out, size_t oy0, size_t oy1, float* scratch);

// The whole output on the pool; scratch: deconv_pair_scratch_floats per
// thread (not touched without Winograd weights).
void deconv_pair(const KernelSet& ks, ThreadPool& pool, const DeconvPairParams& p, const DeconvPairWeights& w,
                 const float* refined, const float* raw, float* out, float* scratch);

}  // namespace litepose::ops
