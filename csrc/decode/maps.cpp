// Map-level steps of the decoder: 2x bilinear upsampling, merging the two
// network outputs (get_multi_stage_outputs), and NMS + top-k.
//
// Why a separate file: these are the only steps that touch every map pixel;
// everything after them works on at most K x 30 candidates.
#include "decode/decode_internal.h"
#include "kernels/f32-decode/f32-decode.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace litepose {

using detail::lin;
using detail::tap2x;

namespace {

// Streams the rows of upsample2x(m) (m: h x w) to emit(y, r0, r1, w0, w1):
// output row y = lin(r0, r1, w0, w1) elementwise, r0/r1 being rows of m
// resized along W (torch's order: W first, then H).  rows: 2 * 2w floats.
template <class Emit>
void for_each_up2x_row(const kernels::DecodeKernels& kr, const float* m, int h, int w, float* rows,
                       const Emit& emit) {
  const int ow = 2 * w;
  int cached[2] = {-1, -1};
  for (int y = 0; y < 2 * h; ++y) {
    const detail::Tap ty = tap2x(y, h);
    const int want[2] = {ty.i0, ty.i1};
    float* rr[2];
    for (int s = 0; s < 2; ++s) {
      float* slot = nullptr;
      for (int q = 0; q < 2; ++q)
        if (cached[q] == want[s]) slot = rows + q * ow;
      if (!slot) {
        // Evict the slot not holding the other wanted row.
        const int q = (cached[0] == want[1 - s]) ? 1 : 0;
        slot = rows + q * ow;
        cached[q] = want[s];
        kr.wpass(m + static_cast<size_t>(want[s]) * w, w, slot);
      }
      rr[s] = slot;
    }
    emit(y, rr[0], rr[1], ty.w0, ty.w1);
  }
}

}  // namespace

void upsample2x(const float* in,  // CxHxW
                int c, int h, int w,
                float* out) {     // Cx2Hx2W
  const kernels::DecodeKernels& kr = kernels::decode_kernels();
  const int ow = 2 * w, oh = 2 * h;
  std::vector<float> rows(2 * static_cast<size_t>(ow));
  for (int ch = 0; ch < c; ++ch) {
    float* o = out + static_cast<size_t>(ch) * oh * ow;
    for_each_up2x_row(kr, in + static_cast<size_t>(ch) * h * w, h, w, rows.data(),
                      [&](int y, const float* r0, const float* r1, float w0, float w1) {
                        kr.hpass(r0, r1, w0, w1, ow, o + static_cast<size_t>(y) * ow);
                      });
  }
}

size_t merge_outputs_workspace_size(int k, int h2, int w2) {
  // Two W-resized rows and one output row (k and h2 no longer matter: the
  // upsampled maps are not materialised before merging).
  (void)k, (void)h2;
  return 3 * static_cast<size_t>(w2 > 0 ? w2 : 0);
}

void merge_outputs(const float* out4,  // 2Kx(h2/2)x(w2/2)
                   const float* out2,  // Kxh2xw2
                   int k, int h2, int w2, bool flipped,
                   const int* flip_index,  // K
                   float* heat,            // Kxh2xw2
                   float* tag,             // Kxh2xw2
                   float* workspace) {     // 3 * w2
  if (k <= 0 || h2 <= 0 || w2 <= 0 || (h2 % 2) || (w2 % 2))
    throw InputError("merge_outputs: expected K > 0 and even 1/2-resolution sizes, got K=" +
                     std::to_string(k) + " h2=" + std::to_string(h2) +
                     " w2=" + std::to_string(w2));
  if (flipped && !flip_index)
    throw InputError("merge_outputs: a flipped pass needs a flip_index");
  for (int j = 0; flipped && j < k; ++j)
    if (flip_index[j] < 0 || flip_index[j] >= k)
      throw InputError("merge_outputs: flip_index[" + std::to_string(j) + "] = " +
                       std::to_string(flip_index[j]) + " is outside [0, " + std::to_string(k) +
                       ")");
  const kernels::DecodeKernels& kr = kernels::decode_kernels();
  const size_t plane = static_cast<size_t>(h2) * w2;
  const int h4 = h2 / 2, w4 = w2 / 2;
  const size_t plane4 = static_cast<size_t>(h4) * w4;
  float* rows = workspace;        // 2 x w2
  float* line = workspace + 2 * w2;  // w2
  for (int j = 0; j < k; ++j) {
    const int s = flipped ? flip_index[j] : j;
    const float* o2 = out2 + static_cast<size_t>(s) * plane;
    float* hd = heat + static_cast<size_t>(j) * plane;
    float* td = tag + static_cast<size_t>(j) * plane;
    // heat = (0 + upsample2x(out4[s]) + out2[s]) / 2; tag = upsample2x(out4[K+s]).
    // Flipped: torch.flip(., [3]) after the average, i.e. rows reversed.
    for_each_up2x_row(kr, out4 + static_cast<size_t>(s) * plane4, h4, w4, rows,
                      [&](int y, const float* r0, const float* r1, float w0, float w1) {
                        const size_t row = static_cast<size_t>(y) * w2;
                        if (!flipped) {
                          kr.hpass_avg(r0, r1, w0, w1, o2 + row, w2, hd + row);
                        } else {
                          kr.hpass_avg(r0, r1, w0, w1, o2 + row, w2, line);
                          for (int x = 0; x < w2; ++x) hd[row + x] = line[w2 - 1 - x];
                        }
                      });
    for_each_up2x_row(kr, out4 + static_cast<size_t>(k + s) * plane4, h4, w4, rows,
                      [&](int y, const float* r0, const float* r1, float w0, float w1) {
                        const size_t row = static_cast<size_t>(y) * w2;
                        if (!flipped) {
                          kr.hpass(r0, r1, w0, w1, w2, td + row);
                        } else {
                          kr.hpass(r0, r1, w0, w1, w2, line);
                          for (int x = 0; x < w2; ++x) td[row + x] = line[w2 - 1 - x];
                        }
                      });
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
