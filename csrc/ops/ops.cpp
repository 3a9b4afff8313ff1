// Operator layer: work split and threading around the microkernels.
//
// Work is split into more tasks than threads (about 4 per thread) so the
// dynamic scheduler of the pool can even out uneven rows (borders cost less
// than the interior in depthwise convolutions) and a busy core on a noisy
// machine does not hold everyone up.
#include "ops/ops.h"

#include <algorithm>

namespace litepose::ops {

namespace {

// Splits [0, total) into tasks of `grain`-aligned chunks.
struct Split {
  size_t chunk, tasks;
};
Split split(size_t total, size_t grain, int threads) {
  if (total == 0) return {1, 0};
  size_t want = threads <= 1 ? 1 : static_cast<size_t>(threads) * 4;
  size_t chunk = (total + want - 1) / want;
  chunk = std::max(grain, (chunk + grain - 1) / grain * grain);
  return {chunk, (total + chunk - 1) / chunk};
}

template <typename Fn>
void for_rows(ThreadPool& pool, size_t rows, size_t grain, Fn&& fn) {
  Split s = split(rows, grain, pool.num_threads());
  if (s.tasks <= 1 && !pool.tracing()) {
    if (rows) fn(size_t(0), rows);
    return;
  }
  pool.parallel_for(s.tasks, [&](size_t t, int) {
    size_t r0 = t * s.chunk, r1 = std::min(rows, r0 + s.chunk);
    fn(r0, r1);
  });
}

}  // namespace

void conv1x1(const KernelSet& ks, ThreadPool& pool, size_t pixels, size_t k, size_t n,
             const float* in, const float* packed_w, float* out, const float* residual,
             float min, float max) {
  for_rows(pool, pixels, ks.gemm_mr * 4, [&](size_t r0, size_t r1) {
    ks.gemm(r1 - r0, n, k, in + r0 * k, k, packed_w, out + r0 * n, n,
            residual ? residual + r0 * n : nullptr, n, min, max);
  });
}

void dwconv(const KernelSet& ks, ThreadPool& pool, const kernels::DwConvParams& p, const float* in,
            const float* w, const float* bias, float* out) {
  for_rows(pool, p.out_h, 1, [&](size_t r0, size_t r1) { ks.dwconv(p, in, w, bias, out, r0, r1); });
}

void deconv(const KernelSet& ks, ThreadPool& pool, const kernels::DeconvParams& p, const float* in,
            const float* w, const float* bias, float* out) {
  for_rows(pool, 2 * p.in_h, 2, [&](size_t r0, size_t r1) { ks.deconv(p, in, w, bias, out, r0, r1); });
}

void conv(const KernelSet& ks, ThreadPool& pool, const kernels::ConvParams& p, const float* in,
          const float* w, const float* bias, float* out) {
  for_rows(pool, p.out_h, 1, [&](size_t r0, size_t r1) { ks.conv(p, in, w, bias, out, r0, r1); });
}

void nchw_to_nhwc(const float* in, size_t c, size_t h, size_t w, float* out) {
  const size_t hw = h * w;
  for (size_t i = 0; i < hw; ++i)
    for (size_t ch = 0; ch < c; ++ch) out[i * c + ch] = in[ch * hw + i];
}

void nhwc_to_nchw(const float* in, size_t h, size_t w, size_t c, float* out) {
  const size_t hw = h * w;
  for (size_t ch = 0; ch < c; ++ch)
    for (size_t i = 0; i < hw; ++i) out[ch * hw + i] = in[i * c + ch];
}

}  // namespace litepose::ops
