// Internal helpers of the decoder, shared by its translation units.
//
// Why: the official parser's results depend on float rounding in a few
// places (resized maps, tag means), and being equal to it means doing the
// same operations in the same order.  Those exact recipes live here, once,
// each with a note on what it mirrors and how it was checked.
#pragma once

// The decoder mirrors separate float multiplies and adds of numpy / torch;
// a compiler fusing a*b+c into an FMA would change results.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#elif defined(__clang__)
#pragma clang fp contract(off)
#endif

#include "kernels/f32-decode/tap2x.h"
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "litepose/decode.h"

namespace litepose {
namespace detail {

// torch's CPU bilinear kernel computes one linear step as
// fma(a, w0, b * w1) (checked bit for bit against torch 2.13 on this CPU,
// AVX-512 build).  The weights here are 0, 1/4, 3/4 or 1, so a*w0 is exact
// in double and, without an FMA unit, the double sum rounds like the fused
// operation except in cases needing operands 2^27 apart landing on a float
// tie, which network outputs do not produce.
inline float lin(float a, float b, float w0, float w1) {
#if defined(__FMA__) || defined(__aarch64__) || defined(__ARM_FEATURE_FMA)
  return std::fma(a, w0, b * w1);
#else
  float p = b * w1;
  return static_cast<float>(static_cast<double>(a) * static_cast<double>(w0) +
                            static_cast<double>(p));
#endif
}

// Source taps of a 2x upsample (kernels/f32-decode/tap2x.h).
using Tap = kernels::Tap2x;
using kernels::tap2x;

// Value at (y, x) of upsample2x(m), m being h x w.
inline float up2x_at(const float* m, int h, int w, int y, int x) {
  const Tap ty = tap2x(y, h), tx = tap2x(x, w);
  const float* r0 = m + static_cast<size_t>(ty.i0) * w;
  const float* r1 = m + static_cast<size_t>(ty.i1) * w;
  const float t0 = lin(r0[tx.i0], r0[tx.i1], tx.w0, tx.w1);
  const float t1 = lin(r1[tx.i0], r1[tx.i1], tx.w0, tx.w1);
  return lin(t0, t1, ty.w0, ty.w1);
}

// numpy float32 sum of a 1-D array (pairwise_sum: plain loop under 8
// elements, else 8 accumulators) -- np.mean of the tag lists (D = 1) and of
// a person's scores.  stride in elements.
inline float np_pairwise_sum(const float* a, int n, int stride) {
  if (n < 8) {
    float r = -0.0f;
    for (int i = 0; i < n; ++i) r += a[i * stride];
    return r;
  }
  float r[8];
  for (int j = 0; j < 8; ++j) r[j] = a[j * stride];
  int i = 8;
  for (; i < n - (n % 8); i += 8)
    for (int j = 0; j < 8; ++j) r[j] += a[(i + j) * stride];
  float res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
  for (; i < n; ++i) res += a[i * stride];
  return res;
}

// torch float32 sum over dim 0 of an n x D tensor on CPU (checked against
// torch 2.13 for n = 1..39): D = 1 is a contiguous inner reduction
// (8-lane vector accumulators, tail first, then the lanes); D > 1 is per
// column with 4 interleaved accumulators.
inline float torch_sum_d1(const float* a, int n) {
  const int V = 8;
  const int nv = n / V;
  if (nv == 0) {
    float acc[4] = {0.f, 0.f, 0.f, 0.f};
    const int m = n / 4;
    for (int i = 0; i < m; ++i)
      for (int k = 0; k < 4; ++k) acc[k] += a[4 * i + k];
    for (int i = m * 4; i < n; ++i) acc[0] += a[i];
    for (int k = 1; k < 4; ++k) acc[0] += acc[k];
    return acc[0];
  }
  float lanes[4][V] = {};
  const int m = nv / 4;
  for (int i = 0; i < m; ++i)
    for (int k = 0; k < 4; ++k)
      for (int l = 0; l < V; ++l) lanes[k][l] += a[(4 * i + k) * V + l];
  for (int i = m * 4; i < nv; ++i)
    for (int l = 0; l < V; ++l) lanes[0][l] += a[i * V + l];
  for (int k = 1; k < 4; ++k)
    for (int l = 0; l < V; ++l) lanes[0][l] += lanes[k][l];
  float fa = 0.f;
  for (int i = nv * V; i < n; ++i) fa += a[i];
  for (int l = 0; l < V; ++l) fa += lanes[0][l];
  return fa;
}
inline float torch_sum_col(const float* a, int n, int stride) {
  float acc[4] = {0.f, 0.f, 0.f, 0.f};
  const int m = n / 4;
  for (int i = 0; i < m; ++i)
    for (int k = 0; k < 4; ++k) acc[k] += a[(4 * i + k) * stride];
  for (int i = m * 4; i < n; ++i) acc[0] += a[i * stride];
  for (int k = 1; k < 4; ++k) acc[0] += acc[k];
  return acc[0];
}

// torch.topk's comparator on CPU: NaN first, then larger values.
struct TopkElem {
  float v;
  int i;
};
inline bool topk_comp(const TopkElem& x, const TopkElem& y) {
  return (std::isnan(x.v) && !std::isnan(y.v)) || x.v > y.v;
}

// Replica of libstdc++'s heap primitives (__push_heap, __adjust_heap,
// __make_heap, __pop_heap) with topk_comp: std::partial_sort is
// heap_select + sort_heap over these, and the order it leaves equal values
// in is what torch.topk returns.
void heap_adjust(TopkElem* h, long hole, long len, TopkElem value);
void heap_make(TopkElem* h, long len);
void heap_sort(TopkElem* h, long len);

// Generic NMS + top-k over an accessor get(y, x) -> float.  bound(y, x)
// must return a value >= get(y, x) (used only to skip pixels); row_bound(y)
// >= every bound of row y.
template <class Get, class Bound, class RowBound>
void nms_topk_generic(const Get& get, const Bound& bound, const RowBound& row_bound, int h,
                      int w, int kernel, int k, float* val_out, int* idx_out) {
  const long n = static_cast<long>(h) * w;
  if (k > n) k = static_cast<int>(n);
  if (k <= 0) return;
  const int r = kernel / 2;
  auto kept = [&](int y, int x, float v) {
    // Kept by NMS iff no value in the window is larger (max-pool == det).
    const int ya = y - r < 0 ? 0 : y - r, yb = y + r >= h ? h - 1 : y + r;
    const int xa = x - r < 0 ? 0 : x - r, xb = x + r >= w ? w - 1 : x + r;
    for (int yy = ya; yy <= yb; ++yy)
      for (int xx = xa; xx <= xb; ++xx)
        if (get(yy, xx) > v) return false;
    return true;
  };
  auto value = [&](int y, int x) {
    const float d = get(y, x);
    return kept(y, x, d) ? d : d * 0.0f;
  };
  std::vector<TopkElem> heap(k);
  for (int i = 0; i < k; ++i) heap[i] = {value(i / w, i % w), i};
  heap_make(heap.data(), k);
  long i = k;
  while (i < n) {
    const int y = static_cast<int>(i / w);
    int x = static_cast<int>(i % w);
    float top = heap[0].v;
    if (top >= 0.f && !(row_bound(y) > top)) {  // nothing in this row can enter
      i = static_cast<long>(y + 1) * w;
      continue;
    }
    for (; x < w; ++x, ++i) {
      top = heap[0].v;
      if (top >= 0.f) {
        // Non-kept pixels are 0 <= top: only kept values above top enter.
        if (!(bound(y, x) > top)) continue;
        const float d = get(y, x);
        if (!(d > top) || !kept(y, x, d)) continue;
        heap_adjust(heap.data(), 0, k, TopkElem{d, static_cast<int>(i)});
      } else {
        const TopkElem e{value(y, x), static_cast<int>(i)};
        if (topk_comp(e, heap[0])) heap_adjust(heap.data(), 0, k, e);
      }
    }
  }
  heap_sort(heap.data(), k);
  for (int j = 0; j < k; ++j) val_out[j] = heap[j].v, idx_out[j] = heap[j].i;
}

// True when every value of a[0..n) is finite and below 2^125 in magnitude:
// then bilinear steps and two-pass averages of them stay finite, and the
// threshold top-k below may skip pixels (integer test, vectorises).
inline bool all_safe(const float* a, size_t n) {
  const uint32_t* u = reinterpret_cast<const uint32_t*>(a);
  uint32_t bad = 0;
  for (size_t i = 0; i < n; ++i) bad |= (u[i] & 0x7f800000u) >= 0x7e000000u;
  return bad == 0;
}

// Scratch of topk_above_threshold, reused between calls (one per thread).
// proj holds projected values of hot pixels while a joint is processed and
// is -inf everywhere between calls (the invariant lets the NMS window read
// it without bounds on hotness).
struct ThresholdTopkScratch {
  int H = 0, W = 0;
  std::vector<float> proj;             // HxW, -inf outside the current hot runs
  std::vector<float> rowmax;           // h2
  std::vector<float> bm;               // 3 x w2, block bounds of one block row
  std::vector<float> seg;              // 8 x (2 w2 + 4), W-pass / row segments
  std::vector<int> runs;               // (y, x0, x1) of written projected segments
  std::vector<TopkElem> above;         // kept values above the threshold
};

// NMS + top-k of the projected heatmap of one joint (2*h2 x 2*w2, the
// bilinear 2x upsampling of a, or the average of those of a and f), exact
// for every entry above thr, skipping pixels that cannot exceed thr: a
// bilinear value never exceeds the largest of its 4 taps (rounding is
// monotone), so only 1/2-res blocks whose tap maximum exceeds thr are
// projected, and only there is the NMS window read.
//   Returns false -- and the caller must run the exact scan -- when the
// result would depend on the order torch.topk leaves equal values in: two
// kept values above thr are equal within the first min(count, k) + 1.
// Otherwise val_out/idx_out hold the kept values above thr in decreasing
// order (n_out of them, n_out <= k), then val 0, idx 0 (they are <= thr and
// never read by the grouping).  Requires thr >= 0 and all_safe() maps.
bool topk_above_threshold(const float* a,  // h2xw2
                          const float* f,  // h2xw2 or null
                          int h2, int w2, int kernel, int k, float thr,
                          ThresholdTopkScratch& s,
                          float* val_out,  // k
                          int* idx_out,    // k (flat index y*W + x at 2x)
                          int* n_out);

// Projected values [y0..y1] x [x0..x1] of the 2x upsampling of m (h2 x w2),
// the same bits as upsample2x, into out (row stride x1 - x0 + 1), through
// the f32-decode row kernels: only the 1/2-res rows and columns under the
// block are W-resized -- the sub-row W-pass rule topk_above_threshold uses
// for its runs, in a form tests can check against upsample2x on every kind
// of rectangle.  rows: scratch, grown as needed.
void project_block(const float* m, int h2, int w2, int y0, int y1, int x0, int x1,
                   std::vector<float>& rows, float* out);

// Test hooks, per thread: force the exact scan in parse(), and count which
// top-k path ran for each joint (tests check the fallback is taken).
struct TopkPathStats {
  long sparse = 0, exact = 0;                         // joints, by top-k path
  long refine_calls = 0, refine_tiles = 0;  // refine_argmax calls, tiles evaluated
};
TopkPathStats& topk_path_stats();
bool& force_exact_topk();

}  // namespace detail
}  // namespace litepose
