// Operators: one call per network layer.  They split the output into row
// ranges, run the chosen microkernel on each range on the thread pool, and
// own no memory themselves (the network's memory plan passes buffers in).
#pragma once

#include "kernels/kernels.h"
#include "ops/dispatch.h"
#include "ops/threadpool.h"

namespace litepose::ops {

// out[pixels][n] = clamp(in[pixels][k] * W + bias (+ residual)); all NHWC
// rows dense (stride k for in, n for out and residual).
void conv1x1(const KernelSet& ks, ThreadPool& pool, size_t pixels, size_t k, size_t n,
             const float* in, const float* packed_w, float* out, const float* residual,
             float min, float max);

void dwconv(const KernelSet& ks, ThreadPool& pool, const kernels::DwConvParams& p, const float* in,
            const float* w, const float* bias, float* out);

// The head's deconvolution pair (ops/deconv_pair.h) across the pool.
struct DeconvPairParams;
struct DeconvPairWeights;
void deconv_pair(const KernelSet& ks, ThreadPool& pool, const DeconvPairParams& p, const DeconvPairWeights& w,
                 const float* refined, const float* raw, float* out, float* scratch);

void conv(const KernelSet& ks, ThreadPool& pool, const kernels::ConvParams& p, const float* in,
          const float* w, const float* bias, float* out);

// Layout changes at the network's edges.  nchw_to_nhwc also checks the
// input: false when it holds a NaN or an infinity (the copy is complete
// either way).
bool nchw_to_nhwc(ThreadPool& pool, const float* in, size_t c, size_t h, size_t w, float* out);
void nhwc_to_nchw(ThreadPool& pool, const float* in, size_t h, size_t w, size_t c, float* out);
// One thread's part of nhwc_to_nchw: pixels [p0, p1) of in [hw][c] to
// out [c][hw] (reads in + p * c for p in [p0, p1) only).
void nhwc_to_nchw_pixels(const float* in, size_t hw, size_t c, float* out, size_t p0, size_t p1);

}  // namespace litepose::ops
