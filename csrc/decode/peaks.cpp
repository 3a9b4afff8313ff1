// NMS + top-k of a projected heatmap that skips what cannot matter: the
// decoder's fast exact path (topk_above_threshold, decode_internal.h).
//
// Why: the official parser resizes each heatmap to the input size (4x the
// pixels of the 1/2-resolution maps), max-pools it and takes the top 30.
// Only values above the detection threshold (0.1) ever reach the grouping,
// and on real outputs they cover a few percent of the map.  A bilinear value
// never exceeds the largest of its four taps (convex weights, monotone
// rounding), so a 1/2-res block whose taps are all <= thr projects to pixels
// <= thr: those are neither candidates nor able to suppress one.  We project
// only the other blocks, exactly (the f32-decode kernels, the same
// arithmetic as the resized map), run the NMS window there, and sort what is
// above the threshold.  The order torch.topk gives equal values depends on
// the whole scan (a heap), so when two kept values above the threshold are
// equal among those that decide the output, we report it and the caller
// runs the exact scan instead.
//
// Layout: a, f are h2 x w2; projected maps are H x W = 2h2 x 2w2; block
// (by, bx) of the 1/2-res map owns the projected rows whose first tap is by:
// {0, 1, 2} for by = 0, else {2by+1, 2by+2} (clipped to H), same for columns.
#include <algorithm>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "decode/decode_internal.h"
#include "kernels/f32-decode/f32-decode.h"

namespace litepose {
namespace detail {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Block bounds of block row by: bm[bx] = max of taps (by|by1, bx|bx+1).
// col: w2 scratch.  (Plain loops over restrict pointers: they vectorise.)
inline void block_row_bounds(const float* __restrict m, int w2, int by, int by1,
                             float* __restrict col, float* __restrict bm) {
  const float* r0 = m + static_cast<size_t>(by) * w2;
  const float* r1 = m + static_cast<size_t>(by1) * w2;
  for (int x = 0; x < w2; ++x) col[x] = r0[x] > r1[x] ? r0[x] : r1[x];
  for (int x = 0; x + 1 < w2; ++x) bm[x] = col[x + 1] > col[x] ? col[x + 1] : col[x];
  bm[w2 - 1] = col[w2 - 1];
}

}  // namespace

void project_block(const float* m, int h2, int w2, int y0, int y1, int x0, int x1,
                   std::vector<float>& rows, float* out) {
  const kernels::DecodeKernels& kr = kernels::decode_kernels();
  const int b0 = tap2x(x0, w2).i0, n = tap2x(x1, w2).i1 - b0 + 1;
  const int r0 = tap2x(y0, h2).i0, nr = tap2x(y1, h2).i1 - r0 + 1;
  const int off = x0 - 2 * b0, len = x1 - x0 + 1;
  const size_t stride = 2 * static_cast<size_t>(n);
  if (rows.size() < stride * nr) rows.resize(stride * nr);
  // Local column L of a W-resized sub-row is global column 2*b0 + L (the
  // kernel's first/last outputs are only read where they are the row's).
  for (int r = 0; r < nr; ++r) kr.wpass(m + static_cast<size_t>(r0 + r) * w2 + b0, n, &rows[r * stride]);
  for (int y = y0; y <= y1; ++y) {
    const Tap t = tap2x(y, h2);
    kr.hpass(&rows[(t.i0 - r0) * stride] + off, &rows[(t.i1 - r0) * stride] + off, t.w0, t.w1, len,
             out + static_cast<size_t>(y - y0) * len);
  }
}

TopkPathStats& topk_path_stats() {
  thread_local TopkPathStats s;
  return s;
}
bool& force_exact_topk() {
  thread_local bool f = false;
  return f;
}

bool topk_above_threshold(const float* a, const float* f, int h2, int w2, int kernel, int k,
                          float thr, ThresholdTopkScratch& s, float* val_out, int* idx_out,
                          int* n_out) {
  const kernels::DecodeKernels& kr = kernels::decode_kernels();
  const int H = 2 * h2, W = 2 * w2, r = kernel / 2;
  if (s.H != H || s.W != W) {
    s.proj.assign(static_cast<size_t>(H) * W, kNegInf);
    s.H = H, s.W = W;
  }
  const size_t seg_len = 2 * static_cast<size_t>(w2) + 4;
  s.rowmax.resize(2 * static_cast<size_t>(h2));
  s.bm.resize(3 * static_cast<size_t>(w2));
  s.seg.resize(8 * seg_len);
  s.runs.clear();
  s.above.clear();
  float* rm_a = s.rowmax.data();
  float* rm_f = rm_a + h2;
  for (int y = 0; y < h2; ++y) {
    rm_a[y] = kr.rowmax(a + static_cast<size_t>(y) * w2, w2);
    if (f) rm_f[y] = kr.rowmax(f + static_cast<size_t>(y) * w2, w2);
  }
  float* bm = s.bm.data();
  float* bmf = bm + w2;
  float* col = bm + 2 * w2;
  float* sa0 = s.seg.data();
  float* sa1 = sa0 + seg_len;
  float* sf0 = sa1 + seg_len;
  float* sf1 = sf0 + seg_len;
  float* va = sf1 + seg_len;
  float* vf = va + seg_len;
  for (int by = 0; by < h2; ++by) {
    const int by1 = by + 1 < h2 ? by + 1 : by;
    float rb = std::max(rm_a[by], rm_a[by1]);
    if (f) rb = (rb + std::max(rm_f[by], rm_f[by1])) / 2.0f;
    if (!(rb > thr)) continue;
    block_row_bounds(a, w2, by, by1, col, bm);
    if (f) {
      block_row_bounds(f, w2, by, by1, col, bmf);
      for (int x = 0; x < w2; ++x) bm[x] = (bm[x] + bmf[x]) / 2.0f;
    }
    const int y_first = by == 0 ? 0 : 2 * by + 1;
    const int y_last = std::min(H - 1, 2 * by + 2);
    int b0 = 0;
    while (b0 < w2) {
#if defined(__SSE2__)
      // Skip 4 cold blocks at a time.
      const __m128 vt = _mm_set1_ps(thr);
      while (b0 + 4 <= w2 && !_mm_movemask_ps(_mm_cmpgt_ps(_mm_loadu_ps(bm + b0), vt))) b0 += 4;
      if (b0 >= w2) break;
#endif
      if (!(bm[b0] > thr)) {
        ++b0;
        continue;
      }
      int b1 = b0;
      while (b1 + 1 < w2 && bm[b1 + 1] > thr) ++b1;
      // Projected columns [c0, c1] of blocks b0..b1; local index x - 2*b0.
      const int c0 = b0 == 0 ? 0 : 2 * b0 + 1;
      const int c1 = b1 == w2 - 1 ? W - 1 : 2 * b1 + 2;
      const int n = b1 == w2 - 1 ? b1 - b0 + 1 : b1 - b0 + 2;
      const int off = c0 - 2 * b0, len = c1 - c0 + 1;
      kr.wpass(a + static_cast<size_t>(by) * w2 + b0, n, sa0);
      kr.wpass(a + static_cast<size_t>(by1) * w2 + b0, n, sa1);
      if (f) {
        kr.wpass(f + static_cast<size_t>(by) * w2 + b0, n, sf0);
        kr.wpass(f + static_cast<size_t>(by1) * w2 + b0, n, sf1);
      }
      for (int y = y_first; y <= y_last; ++y) {
        const Tap ty = tap2x(y, h2);
        float* dst = s.proj.data() + static_cast<size_t>(y) * W + c0;
        if (!f) {
          kr.hpass(sa0 + off, sa1 + off, ty.w0, ty.w1, len, dst);
        } else {
          kr.hpass(sa0 + off, sa1 + off, ty.w0, ty.w1, len, va);
          kr.hpass(sf0 + off, sf1 + off, ty.w0, ty.w1, len, vf);
          for (int i = 0; i < len; ++i) dst[i] = (va[i] + vf[i]) / 2.0f;
        }
        s.runs.push_back(y);
        s.runs.push_back(c0);
        s.runs.push_back(c1);
      }
      b0 = b1 + 1;
    }
  }
  // NMS on the written runs: a pixel above thr is kept iff nothing in its
  // window is larger (unwritten pixels are -inf and truly <= thr < v).
  const float* proj = s.proj.data();
  for (size_t q = 0; q < s.runs.size(); q += 3) {
    const int y = s.runs[q], c0 = s.runs[q + 1], c1 = s.runs[q + 2];
    const int ya = std::max(0, y - r), yb = std::min(H - 1, y + r);
    const float* row = proj + static_cast<size_t>(y) * W;
    for (int x = c0; x <= c1; ++x) {
      const float v = row[x];
      if (!(v > thr)) continue;
      // The 3x3 neighbours first: they reject nearly every non-peak pixel
      // (no NaN here: the maps are all_safe, unwritten pixels are -inf).
      bool kept = true;
      if (y > 0 && y + 1 < H && x > 0 && x + 1 < W) {
        const float* p = row + x;
        const float m0 = std::max(std::max(p[-W - 1], p[-W]), std::max(p[-W + 1], p[-1]));
        const float m1 = std::max(std::max(p[1], p[W - 1]), std::max(p[W], p[W + 1]));
        kept = !(std::max(m0, m1) > v);
      } else {
        const int ya1 = std::max(0, y - 1), yb1 = std::min(H - 1, y + 1);
        const int xa1 = std::max(0, x - 1), xb1 = std::min(W - 1, x + 1);
        for (int yy = ya1; yy <= yb1 && kept; ++yy) {
          const float* rr = proj + static_cast<size_t>(yy) * W;
          for (int xx = xa1; xx <= xb1; ++xx) kept &= !(rr[xx] > v);
        }
      }
      const int xa = std::max(0, x - r), xb = std::min(W - 1, x + r);
      for (int yy = ya; yy <= yb && kept; ++yy) {
        const float* rr = proj + static_cast<size_t>(yy) * W;
        for (int xx = xa; xx <= xb; ++xx)
          if (rr[xx] > v) {
            kept = false;
            break;
          }
      }
      if (kept) s.above.push_back(TopkElem{v, y * W + x});
    }
  }
  for (size_t q = 0; q < s.runs.size(); q += 3) {
    float* row = s.proj.data() + static_cast<size_t>(s.runs[q]) * W;
    std::fill(row + s.runs[q + 1], row + s.runs[q + 2] + 1, kNegInf);
  }
  // Decreasing values; equal values among the deciding ones -> exact scan.
  const size_t want = std::min(s.above.size(), static_cast<size_t>(k) + 1);
  auto by_value = [](const TopkElem& x, const TopkElem& y) {
    return x.v > y.v || (x.v == y.v && x.i < y.i);
  };
  std::partial_sort(s.above.begin(), s.above.begin() + want, s.above.end(), by_value);
  for (size_t i = 0; i + 1 < want; ++i)
    if (s.above[i].v == s.above[i + 1].v) return false;
  const int n = static_cast<int>(std::min(s.above.size(), static_cast<size_t>(k)));
  for (int i = 0; i < n; ++i) val_out[i] = s.above[i].v, idx_out[i] = s.above[i].i;
  for (int i = n; i < k; ++i) val_out[i] = 0.f, idx_out[i] = 0;
  *n_out = n;
  return true;
}

}  // namespace detail
}  // namespace litepose
