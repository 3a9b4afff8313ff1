// Fused full-resolution tail of the LitePose head, in bands of output rows:
//
//   r   = deconv_refined(ref) + deconv_raw(raw), ReLU     [H][W][C]  (ops/deconv_pair.h)
//   out = pw_r(dw_r(r)) + pw_s(dw_s(skip))                 [N][H][W]
//
// The unfused head writes r (H/2 x W/2 of the input, 32 channels: 6.4 MB at
// 448 x 448), reads it back three times and writes and reads the depthwise
// output t as large again; here r lives only in a per-thread window of
// rows (halo: the dw_r kernel's pad above and below, kept from band to band
// as in fused_block.h) and t only for one band, so neither is in the
// memory plan; nor is the NHWC result, which each band transposes into
// the NCHW output while it is in cache.
//
// Exactness: every kernel computes each output element from the same values
// in the same order whatever row range it is given (kernels.h; the
// deconvolution pair picks Winograd or direct per row, not per range:
// deconv_pair.h), and the per-element order of the parts is the unfused one
// (pw_r writes out, pw_s adds to it as its residual), so the fused tail
// equals the unfused layers bit for bit.
//
// Threads: as fused_block.h: several contiguous chunks of output rows per
// thread, a thread's window carries on through its own consecutive chunks.
// `out_nchw` must not alias any input.
#pragma once

#include <cstddef>

#include "ops/deconv_pair.h"
#include "ops/dispatch.h"
#include "ops/fused_block.h"
#include "ops/threadpool.h"

namespace litepose::ops {

struct FusedTailParams {
  DeconvPairParams deconv;             // produces r [2 in_h][2 in_w][out_c]
  kernels::DwConvParams dw_r, dw_s;    // stride 1, on r and on skip, both H x W
  size_t n;                            // output channels of pw_r and pw_s
  // r is given whole (`ref` is r; no deconvolutions, no window): the 1/4
  // resolution final layers, whose r the next deconvolution reads too.
  bool r_given = false;
};

struct FusedTailWeights {
  DeconvPairWeights deconv;
  const float *dw_r_w, *dw_r_b, *pw_r;         // packed dw weights, bias, packed GEMM weights
  const float *dw_s_w, *dw_s_b, *pw_s;
};

struct FusedTailTiling {
  // even (the depthwise kernels' row pairs) and a multiple of the
  // deconvolution's Winograd tile rows (deconv_pair.h)
  size_t band_rows = kDeconvWinoRows;
  size_t slack_rows = 8;  // window rows beyond band + halo (see FusedIRTuning)
  size_t chunks = 1;
};

FusedTailTiling fused_tail_tiling(const FusedTailParams& p, int threads, size_t chunks_per_thread);

// Floats of scratch one thread needs, a multiple of 16.
size_t fused_tail_scratch_floats(const FusedTailParams& p, const FusedTailTiling& t);

// ref: the refined deconvolution's input (r itself when r_given); raw: the
// raw deconvolution's input; skip: dw_s's input.  out_nchw [N][H][W]: the
// result, transposed band by band from a per-thread band buffer while it is
// in cache (the network's NCHW output).
// Parts in the trace: 0 deconv pair, 1 (unused), 2 dw_r, 3 pw_r,
// 4 dw_s, 5 pw_s, 6 the transpose.  scratch: num_threads *
// fused_tail_scratch_floats floats, 64-byte aligned.
void fused_tail(const KernelSet& ks, ThreadPool& pool, const FusedTailParams& p, const FusedTailWeights& w,
                const FusedTailTiling& t, const float* ref, const float* raw, const float* skip,
                float* out_nchw, float* scratch, FusedIRTrace* trace);

}  // namespace litepose::ops
