// Map-level steps of the decoder: 2x bilinear upsampling, merging the two
// network outputs (get_multi_stage_outputs), and NMS + top-k.
//
// Why a separate file: these are the only steps that touch every map pixel;
// everything after them works on at most K x 30 candidates.
#include "decode/decode_internal.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace litepose {

using detail::lin;
using detail::tap2x;

void upsample2x(const float* in,  // CxHxW
                int c, int h, int w,
                float* out) {     // Cx2Hx2W
  const int ow = 2 * w, oh = 2 * h;
  std::vector<detail::Tap> tx(ow);
  for (int x = 0; x < ow; ++x) tx[x] = tap2x(x, w);
  // Rows of the input resized along W, cached: output row y mixes rows
  // ty.i0 and ty.i1 of these (torch's order: W first, then H).
  std::vector<float> rows(2 * static_cast<size_t>(ow));
  for (int ch = 0; ch < c; ++ch) {
    const float* m = in + static_cast<size_t>(ch) * h * w;
    float* o = out + static_cast<size_t>(ch) * oh * ow;
    int cached[2] = {-1, -1};
    for (int y = 0; y < oh; ++y) {
      const detail::Tap ty = tap2x(y, h);
      const int want[2] = {ty.i0, ty.i1};
      float* rr[2];
      for (int s = 0; s < 2; ++s) {
        float* slot = nullptr;
        for (int q = 0; q < 2; ++q)
          if (cached[q] == want[s]) slot = rows.data() + q * ow;
        if (!slot) {
          // Evict the slot not holding the other wanted row.
          const int q = (cached[0] == want[1 - s]) ? 1 : 0;
          slot = rows.data() + q * ow;
          cached[q] = want[s];
          const float* src = m + static_cast<size_t>(want[s]) * w;
          for (int x = 0; x < ow; ++x)
            slot[x] = lin(src[tx[x].i0], src[tx[x].i1], tx[x].w0, tx[x].w1);
        }
        rr[s] = slot;
      }
      float* dst = o + static_cast<size_t>(y) * ow;
      const float* r0 = rr[0];
      const float* r1 = rr[1];
      for (int x = 0; x < ow; ++x) dst[x] = lin(r0[x], r1[x], ty.w0, ty.w1);
    }
  }
}

size_t merge_outputs_workspace_size(int k, int h2, int w2) {
  return 2 * static_cast<size_t>(k) * h2 * w2;
}

void merge_outputs(const float* out4,  // 2Kx(h2/2)x(w2/2)
                   const float* out2,  // Kxh2xw2
                   int k, int h2, int w2, bool flipped,
                   const int* flip_index,  // K
                   float* heat,            // Kxh2xw2
                   float* tag,             // Kxh2xw2
                   float* workspace) {
  if (k <= 0 || h2 <= 0 || w2 <= 0 || (h2 % 2) || (w2 % 2))
    throw InputError("merge_outputs: expected K > 0 and even 1/2-resolution sizes, got K=" +
                     std::to_string(k) + " h2=" + std::to_string(h2) +
                     " w2=" + std::to_string(w2));
  if (flipped && !flip_index)
    throw InputError("merge_outputs: a flipped pass needs a flip_index");
  const size_t plane = static_cast<size_t>(h2) * w2;
  float* up = workspace;  // 2Kxh2xw2
  upsample2x(out4, 2 * k, h2 / 2, w2 / 2, up);
  for (int j = 0; j < k; ++j) {
    const int s = flipped ? flip_index[j] : j;
    if (s < 0 || s >= k)
      throw InputError("merge_outputs: flip_index[" + std::to_string(j) + "] = " +
                       std::to_string(s) + " is outside [0, " + std::to_string(k) + ")");
    const float* u = up + static_cast<size_t>(s) * plane;
    const float* t = up + static_cast<size_t>(k + s) * plane;
    const float* o2 = out2 + static_cast<size_t>(s) * plane;
    float* hd = heat + static_cast<size_t>(j) * plane;
    float* td = tag + static_cast<size_t>(j) * plane;
    if (!flipped) {
      for (size_t i = 0; i < plane; ++i) hd[i] = (0.0f + u[i] + o2[i]) / 2.0f;
      std::memcpy(td, t, plane * sizeof(float));
    } else {
      // torch.flip(output, [3]) after upsampling, then [:, flip_index].
      for (int y = 0; y < h2; ++y) {
        const size_t row = static_cast<size_t>(y) * w2;
        for (int x = 0; x < w2; ++x) {
          const size_t src = row + (w2 - 1 - x);
          hd[row + x] = (0.0f + u[src] + o2[src]) / 2.0f;
          td[row + x] = t[src];
        }
      }
    }
  }
}

namespace detail {

namespace {
void heap_push(TopkElem* h, long hole, long top, TopkElem value) {
  long parent = (hole - 1) / 2;
  while (hole > top && topk_comp(h[parent], value)) {
    h[hole] = h[parent];
    hole = parent;
    parent = (hole - 1) / 2;
  }
  h[hole] = value;
}
}  // namespace

void heap_adjust(TopkElem* h, long hole, long len, TopkElem value) {
  const long top = hole;
  long second = hole;
  while (second < (len - 1) / 2) {
    second = 2 * (second + 1);
    if (topk_comp(h[second], h[second - 1])) second--;
    h[hole] = h[second];
    hole = second;
  }
  if ((len & 1) == 0 && second == (len - 2) / 2) {
    second = 2 * (second + 1);
    h[hole] = h[second - 1];
    hole = second - 1;
  }
  heap_push(h, hole, top, value);
}

void heap_make(TopkElem* h, long len) {
  if (len < 2) return;
  long parent = (len - 2) / 2;
  while (true) {
    heap_adjust(h, parent, len, h[parent]);
    if (parent == 0) return;
    parent--;
  }
}

void heap_sort(TopkElem* h, long len) {
  while (len > 1) {
    --len;
    const TopkElem v = h[len];
    h[len] = h[0];
    heap_adjust(h, 0, len, v);
  }
}

}  // namespace detail

void nms_topk(const float* det,  // HxW
              int h, int w, int kernel, int k,
              float* val_out,    // k
              int* idx_out) {    // k
  if (h <= 0 || w <= 0 || kernel <= 0 || kernel % 2 == 0)
    throw InputError("nms_topk: expected h, w > 0 and an odd kernel, got h=" + std::to_string(h) +
                     " w=" + std::to_string(w) + " kernel=" + std::to_string(kernel));
  // Row maxima let whole rows be skipped once the heap holds better values.
  std::vector<float> rowmax(h);
  for (int y = 0; y < h; ++y) {
    float m = -std::numeric_limits<float>::infinity();
    const float* r = det + static_cast<size_t>(y) * w;
    for (int x = 0; x < w; ++x) m = std::max(m, r[x]);
    rowmax[y] = m;
  }
  auto get = [&](int y, int x) { return det[static_cast<size_t>(y) * w + x]; };
  auto bound = [&](int y, int x) { return det[static_cast<size_t>(y) * w + x]; };
  auto row_bound = [&](int y) { return rowmax[y]; };
  detail::nms_topk_generic(get, bound, row_bound, h, w, kernel, k, val_out, idx_out);
}

}  // namespace litepose
