// HeatmapParser.parse of the official code (top_k, match, adjust, refine)
// on maps projected to the input size, plus the dataset tables and the
// final mapping to image pixels.
//
// Why lazily projected maps: the official pipeline resizes every heatmap
// and tag map to the input size (PROJECT2IMAGE) before parsing, and its
// refine step scans whole maps once per person.  Here a projected value is
// computed only where it is needed, with exactly the arithmetic of the
// resized map (the f32-decode kernels), and whole regions are skipped with
// bounds taken from the 1/2-resolution maps (a bilinear value never exceeds
// the largest of its taps; the bounds allow a little slack anyway):
//   * top-k: detail::topk_above_threshold (peaks.cpp), with the full heap
//     replay (nms_topk_generic) as the exact fallback;
//   * refine: tiles by decreasing det bound, stopped as soon as no tile can
//     reach the best value, each tile one H-pass per row of W-resized rows
//     cached per joint (WCache), scored and reduced by kernels.
// Scratch memory is per thread and kept between calls.
#include "decode/decode_internal.h"
#include "kernels/f32-decode/f32-decode.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>

namespace litepose {
namespace {
thread_local DecodeTimings g_decode_timings;
using Clock = std::chrono::steady_clock;
inline double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}
}  // namespace

const DecodeTimings& last_decode_timings() { return g_decode_timings; }
}  // namespace litepose

namespace litepose {

// ------------------------------------------------------------ dataset tables
const std::vector<int>& crowdpose_flip_index() {
  static const std::vector<int> v = {1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 12, 13};
  return v;
}
const std::vector<int>& coco_flip_index() {
  static const std::vector<int> v = {0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15};
  return v;
}
const std::vector<int>& flip_index_for(const std::string& dataset, int num_joints) {
  const std::vector<int>* v = nullptr;
  if (dataset == "crowdpose" || dataset == "crowd_pose") v = &crowdpose_flip_index();
  if (dataset == "coco") v = &coco_flip_index();
  if (!v)
    throw InputError("flip_index_for: expected dataset \"crowdpose\" or \"coco\", got \"" +
                     dataset + "\"");
  if (static_cast<int>(v->size()) != num_joints)
    throw InputError("flip_index_for: dataset \"" + dataset + "\" has " +
                     std::to_string(v->size()) + " joints, the model has " +
                     std::to_string(num_joints));
  return *v;
}
std::vector<int> joint_order(int num_joints) {
  static const int order[17] = {0, 1, 2, 3, 4, 5, 6, 11, 12, 7, 8, 9, 10, 13, 14, 15, 16};
  if (num_joints <= 0 || num_joints > 17) {
    // Beyond the official tables: natural order.
    std::vector<int> v(num_joints > 0 ? num_joints : 0);
    for (int i = 0; i < num_joints; ++i) v[i] = i;
    return v;
  }
  // The official order's entries that exist for this joint count, in order:
  // equal to the official prefix for 13..17 joints (CrowdPose 14, COCO 17)
  // and still a permutation of 0..K-1 below that (the official prefix would
  // index joints 11 and 12 that a smaller model lacks; found by fuzzing).
  std::vector<int> v;
  for (int i = 0; i < 17; ++i)
    if (order[i] < num_joints) v.push_back(order[i]);
  return v;
}

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// Empty top-k storage: K joints x M candidates, tags of D dimensions.
Candidates sized_candidates(int K, int M, int D) {
  Candidates cand;
  cand.k = K, cand.m = M, cand.d = D;
  cand.val.resize(static_cast<size_t>(K) * M);
  cand.x.resize(cand.val.size());
  cand.y.resize(cand.val.size());
  cand.tag.resize(cand.val.size() * D);
  return cand;
}

// Slack for bounds: values computed by bilinear steps may exceed the
// largest tap by a few ulps.
inline float up_slack(float b) { return b + std::fabs(b) * 1e-5f + 1e-30f; }
inline float down_slack(float b) { return b - std::fabs(b) * 1e-5f - 1e-30f; }

// The projected maps of one image (input size H x W), computed on demand.
// Point values come from the f32-decode kernels (FMA where the CPU has it),
// the same arithmetic as the resized maps of merge_outputs / upsample2x.
struct Projected {
  const HalfResMaps& m;
  int H, W;
  bool flip;
  kernels::Up2xAtFn at;
  explicit Projected(const HalfResMaps& maps)
      : m(maps), H(2 * maps.h2), W(2 * maps.w2), flip(maps.heat_flip != nullptr),
        at(kernels::decode_kernels().at) {}
  size_t plane() const { return static_cast<size_t>(m.h2) * m.w2; }
  float det(int j, int y, int x) const {
    const float a = at(m.heat + j * plane(), m.h2, m.w2, y, x);
    if (!flip) return a;
    const float b = at(m.heat_flip + j * plane(), m.h2, m.w2, y, x);
    return (a + b) / 2.0f;
  }
  void tag(int j, int y, int x, float* t) const {
    t[0] = at(m.tag + j * plane(), m.h2, m.w2, y, x);
    if (flip) t[1] = at(m.tag_flip + j * plane(), m.h2, m.w2, y, x);
  }
  int dims() const { return flip ? 2 : 1; }
};

// Upper bounds of the projected heatmap of one joint: per 1/2-res block
// (taps y0..y0+1, x0..x0+1) and per projected row.
struct HeatBounds {
  std::vector<float> block;  // h2 x w2
  std::vector<float> row;    // H
};

HeatBounds heat_bounds(const Projected& P, int j) {
  const int h2 = P.m.h2, w2 = P.m.w2;
  HeatBounds b;
  b.block.resize(static_cast<size_t>(h2) * w2);
  auto blockmax = [&](const float* m, int y, int x) {
    const int y1 = std::min(y + 1, h2 - 1), x1 = std::min(x + 1, w2 - 1);
    return std::max(std::max(m[y * w2 + x], m[y * w2 + x1]),
                    std::max(m[y1 * w2 + x], m[y1 * w2 + x1]));
  };
  const float* a = P.m.heat + j * P.plane();
  const float* f = P.flip ? P.m.heat_flip + j * P.plane() : nullptr;
  for (int y = 0; y < h2; ++y)
    for (int x = 0; x < w2; ++x) {
      float v = blockmax(a, y, x);
      if (f) v = (v + blockmax(f, y, x)) / 2.0f;
      b.block[static_cast<size_t>(y) * w2 + x] = up_slack(v);
    }
  std::vector<float> hrow(h2);
  for (int y = 0; y < h2; ++y)
    hrow[y] = *std::max_element(b.block.begin() + static_cast<size_t>(y) * w2,
                                b.block.begin() + static_cast<size_t>(y + 1) * w2);
  b.row.resize(P.H);
  for (int y = 0; y < P.H; ++y) b.row[y] = hrow[detail::tap2x(y, h2).i0];
  return b;
}

// Tiles of the projected map for refine's branch and bound: per tile, a
// bound on det and the box of tag values.
constexpr int kTile = 16;
struct TileBounds {
  int ty = 0, tx = 0;
  std::vector<float> det_max;       // ty x tx
  std::vector<float> tmin, tmax;    // ty x tx x D
  // Lazily (safe maps): which tiles have tmin/tmax yet, and the tiles by
  // decreasing det_max (ties: index order).
  std::vector<uint8_t> tag_ready;   // ty x tx
  std::vector<int> order;
};

// c[x] = max(c[x], r[x]) / min, skipping NaN like std::max(c, r) (maxps /
// minps semantics: vectorises).
void col_max(const float* __restrict r, float* __restrict c, int n) {
  for (int x = 0; x < n; ++x) c[x] = r[x] > c[x] ? r[x] : c[x];
}
void col_min(const float* __restrict r, float* __restrict c, int n) {
  for (int x = 0; x < n; ++x) c[x] = r[x] < c[x] ? r[x] : c[x];
}

// 1/2-res rows/cols that projected tile index a reads: taps of its first
// and last projected row.
inline void tile_range(int a, int full, int half, int* lo, int* hi) {
  const int first = a * kTile, last = std::min(full - 1, a * kTile + kTile - 1);
  *lo = detail::tap2x(first, half).i0;
  *hi = detail::tap2x(last, half).i1;
}

// tmin/tmax of tile ti, from its 1/2-res taps (the same extremes the eager
// pass of tile_bounds computes).
void tile_tags(const Projected& P, int j, TileBounds& t, int ti) {
  if (t.tag_ready[ti]) return;
  const int D = P.dims(), w2 = P.m.w2;
  int ylo, yhi, xlo, xhi;
  tile_range(ti / t.tx, P.H, P.m.h2, &ylo, &yhi);
  tile_range(ti % t.tx, P.W, w2, &xlo, &xhi);
  for (int d = 0; d < D; ++d) {
    const float* m = (d == 0 ? P.m.tag : P.m.tag_flip) + j * P.plane();
    float lo = kInf, hi = -kInf;
    for (int y = ylo; y <= yhi; ++y) {
      const float* r = m + static_cast<size_t>(y) * w2;
      for (int x = xlo; x <= xhi; ++x) lo = std::min(lo, r[x]), hi = std::max(hi, r[x]);
    }
    t.tmin[static_cast<size_t>(ti) * D + d] = down_slack(lo);
    t.tmax[static_cast<size_t>(ti) * D + d] = up_slack(hi);
  }
  t.tag_ready[ti] = 1;
}

// with_tags: also every tile's tag box now (else tile_tags fills them on
// demand).
TileBounds tile_bounds(const Projected& P, int j, bool with_tags) {
  const int h2 = P.m.h2, w2 = P.m.w2, D = P.dims();
  TileBounds t;
  t.ty = (P.H + kTile - 1) / kTile;
  t.tx = (P.W + kTile - 1) / kTile;
  const size_t nt = static_cast<size_t>(t.ty) * t.tx;
  t.det_max.assign(nt, -kInf);
  t.tmin.assign(nt * D, kInf);
  t.tmax.assign(nt * D, -kInf);
  t.tag_ready.assign(nt, with_tags ? 1 : 0);
  auto range = tile_range;
  std::vector<int> xlo(t.tx), xhi(t.tx);
  for (int a = 0; a < t.tx; ++a) range(a, P.W, w2, &xlo[a], &xhi[a]);
  const float* maps[4] = {P.m.heat + j * P.plane(), P.flip ? P.m.heat_flip + j * P.plane() : nullptr,
                          P.m.tag + j * P.plane(), P.flip ? P.m.tag_flip + j * P.plane() : nullptr};
  // Per tile row: extremes over its 1/2-res rows, column by column
  // (contiguous, vectorises), then over each tile's columns.
  std::vector<float> cmax(w2), cmin(w2);
  std::vector<float> hmax[2];
  for (int q = 0; q < 4; ++q) {
    const float* m = maps[q];
    if (!m || (q >= 2 && !with_tags)) continue;
    if (q < 2) hmax[q].assign(nt, -kInf);
    for (int b = 0; b < t.ty; ++b) {
      int ylo, yhi;
      range(b, P.H, h2, &ylo, &yhi);
      std::fill(cmin.begin(), cmin.end(), kInf);
      std::fill(cmax.begin(), cmax.end(), -kInf);
      for (int y = ylo; y <= yhi; ++y) {  // std::min/max semantics (NaN skipped)
        const float* r = m + static_cast<size_t>(y) * w2;
        col_max(r, cmax.data(), w2);
        if (q >= 2) col_min(r, cmin.data(), w2);
      }
      for (int a = 0; a < t.tx; ++a) {
        float lo = kInf, hi = -kInf;
        for (int x = xlo[a]; x <= xhi[a]; ++x) {
          lo = std::min(lo, cmin[x]);
          hi = std::max(hi, cmax[x]);
        }
        const size_t ti = static_cast<size_t>(b) * t.tx + a;
        if (q < 2) {
          hmax[q][ti] = hi;
        } else {
          const int d = q - 2;
          t.tmin[ti * D + d] = down_slack(lo);
          t.tmax[ti * D + d] = up_slack(hi);
        }
      }
    }
  }
  for (size_t ti = 0; ti < nt; ++ti) {
    float v = hmax[0][ti];
    if (P.flip) v = (v + hmax[1][ti]) / 2.0f;
    t.det_max[ti] = up_slack(v);
  }
  return t;
}

// One joint's heat, heat_flip, tag, tag_flip maps resized along W (h2 x W
// each; upsample2x's first step), row by row as tiles need them: a tile row
// is then one H-pass of two of these rows.
struct WCache {
  int h2 = 0, w2 = 0, W = 0;
  const float* src[4] = {nullptr, nullptr, nullptr, nullptr};
  float* dst[4] = {nullptr, nullptr, nullptr, nullptr};
  std::vector<uint8_t> ready;  // 4 x h2
  const float* row(int m, int y) {
    float* d = dst[m] + static_cast<size_t>(y) * W;
    if (!ready[static_cast<size_t>(m) * h2 + y]) {
      kernels::decode_kernels().wpass(src[m] + static_cast<size_t>(y) * w2, w2, d);
      ready[static_cast<size_t>(m) * h2 + y] = 1;
    }
    return d;
  }
};

int refine_argmax(const Projected& P, int j, TileBounds& tb, const float* prev, bool safe,
                  WCache* wc) {
  const int D = P.dims();
  const size_t nt = tb.det_max.size();
  auto tile_ub = [&](size_t ti) {
    float ss = 0.f;
    for (int d = 0; d < D; ++d) {
      float g = 0.f;
      if (prev[d] < tb.tmin[ti * D + d]) g = tb.tmin[ti * D + d] - prev[d];
      if (prev[d] > tb.tmax[ti * D + d]) g = prev[d] - tb.tmax[ti * D + d];
      ss += g * g;
    }
    const float lb = std::max(0.f, down_slack(std::sqrt(ss)));
    return up_slack(tb.det_max[ti] - std::nearbyint(lb));
  };
  std::vector<float> ub(safe ? 0 : nt);
  size_t best_tile = 0;
  for (size_t ti = 0; ti < ub.size(); ++ti) {  // original order: all bounds first
    ub[ti] = tile_ub(ti);
    if (ub[ti] > ub[best_tile]) best_tile = ti;
  }
  float best = -kInf;
  long best_idx = -1;
  // A tile's projected det and tags are H-passes of the joint's W-resized
  // rows (WCache), scored by refine_score; per pixel the arithmetic is the
  // official one, so the argmax is too.
  thread_local std::vector<float> blk;
  const kernels::DecodeKernels& kr = kernels::decode_kernels();
  const size_t tsz = static_cast<size_t>(kTile) * kTile;
  if (blk.size() < 5 * tsz) blk.resize(5 * tsz);
  const int h2 = P.m.h2;
  auto eval_box = [&](int y0, int y1, int x0, int x1) {
    const int len = x1 - x0 + 1, n = (y1 - y0 + 1) * len;
    float* det = blk.data();
    float* t0 = det + tsz;
    float* t1 = t0 + tsz;
    float* tmp = t1 + tsz;
    float* v = tmp + tsz;
    auto project = [&](int m, float* out) {
      for (int y = y0; y <= y1; ++y) {
        const detail::Tap t = detail::tap2x(y, h2);
        kr.hpass(wc->row(m, t.i0) + x0, wc->row(m, t.i1) + x0, t.w0, t.w1, len,
                 out + static_cast<size_t>(y - y0) * len);
      }
    };
    project(0, det);
    if (P.flip) {
      project(1, tmp);
      for (int i = 0; i < n; ++i) det[i] = (det[i] + tmp[i]) / 2.0f;
    }
    project(2, t0);
    if (P.flip) project(3, t1);
    kr.refine_score(det, t0, P.flip ? t1 : nullptr, prev[0], D > 1 ? prev[1] : 0.f, n, v);
    if (safe) {
      // No NaN: the box's first maximum, then the usual tie rule (raster
      // order inside the box is increasing flat index).
      float vv;
      const int i = kr.argmax(v, n, &vv);
      const long idx = static_cast<long>(y0 + i / len) * P.W + x0 + i % len;
      if (vv > best || (vv == best && idx < best_idx) || best_idx < 0) {
        best = vv;
        best_idx = idx;
      }
      return;
    }
    for (int y = y0; y <= y1; ++y) {
      const float* vr = v + static_cast<size_t>(y - y0) * len;
      for (int x = x0; x <= x1; ++x) {
        const float vv = vr[x - x0];
        const long idx = static_cast<long>(y) * P.W + x;
        if (vv > best || (vv == best && idx < best_idx) || best_idx < 0) {
          best = vv;
          best_idx = idx;
        }
      }
    }
  };
  auto eval_tile = [&](size_t ti) {
    const int b = static_cast<int>(ti / tb.tx), a = static_cast<int>(ti % tb.tx);
    const int y0 = b * kTile, x0 = a * kTile;
    eval_box(y0, std::min(P.H, y0 + kTile) - 1, x0, std::min(P.W, x0 + kTile) - 1);
  };
  if (!safe) {
    eval_tile(best_tile);
    for (size_t ti = 0; ti < nt; ++ti)
      if (ti != best_tile && ub[ti] >= best) eval_tile(ti);
    return static_cast<int>(best_idx);
  }
  // Tiles by decreasing det bound (v = det - round(dist) <= det): once a
  // tile's det bound is below the best value found, no later tile can
  // reach it.  Tag boxes are computed for the tiles that get that far.
  detail::TopkPathStats& st = detail::topk_path_stats();
  st.refine_calls++;
  if (tb.order.empty()) {
    // Sort keys: the bound's bits made order-preserving as unsigned, then
    // inverted (decreasing), with the tile index below (ties: index order).
    thread_local std::vector<uint64_t> keys;
    keys.resize(nt);
    for (size_t ti = 0; ti < nt; ++ti) {
      uint32_t u;
      std::memcpy(&u, &tb.det_max[ti], 4);
      u = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
      keys[ti] = (static_cast<uint64_t>(~u) << 32) | ti;
    }
    std::sort(keys.begin(), keys.end());
    tb.order.resize(nt);
    for (size_t q = 0; q < nt; ++q) tb.order[q] = static_cast<int>(keys[q] & 0xffffffffu);
  }
  for (const int ti : tb.order) {
    if (best_idx >= 0 && tb.det_max[ti] < best) break;
    tile_tags(P, j, tb, ti);
    if (best_idx >= 0 && tile_ub(ti) < best) continue;
    st.refine_tiles++;
    eval_tile(ti);
  }
  return static_cast<int>(best_idx);
}

// Quarter-pixel step toward the higher neighbour.
inline float quarter(float hi_side, float lo_side) { return hi_side > lo_side ? 0.25f : -0.25f; }

}  // namespace

std::vector<Person> parse(const HalfResMaps& maps, const DecodeOptions& opt) {
  if (maps.k <= 0 || maps.h2 <= 0 || maps.w2 <= 0 || !maps.heat || !maps.tag)
    throw InputError("parse: expected K, h2, w2 > 0 and heat/tag maps");
  if ((maps.heat_flip == nullptr) != (maps.tag_flip == nullptr))
    throw InputError("parse: heat_flip and tag_flip must be given together");
  if (opt.max_num_people <= 0 || opt.nms_kernel <= 0 || opt.nms_kernel % 2 == 0)
    throw InputError("parse: expected max_num_people > 0 and an odd nms_kernel, got " +
                     std::to_string(opt.max_num_people) + " and " +
                     std::to_string(opt.nms_kernel));
  const int K = maps.k;
  auto t_start = Clock::now();
  const Projected P(maps);
  const int D = P.dims();
  const int H = P.H, W = P.W;
  const int M = static_cast<int>(std::min<long>(opt.max_num_people, static_cast<long>(H) * W));

  // top_k: NMS + top-k per joint, tags gathered at the peaks.
  Candidates cand = sized_candidates(K, M, D);
  std::vector<int> idx(M);
  // The threshold path (detail::topk_above_threshold) is exact for every
  // candidate the grouping reads (val > detection_threshold); it needs a
  // threshold >= 0 (else values <= 0 would be read) and maps whose
  // bilinear values stay finite (else NaN ordering and the grouping's
  // non-finite-tag error could depend on skipped pixels).
  const size_t nplane = static_cast<size_t>(K) * P.plane();
  // (force_exact_topk, a test hook, also keeps refine's original visit order.)
  const kernels::AllSafeFn all_safe = kernels::decode_kernels().all_safe;
  const bool maps_safe =
      !detail::force_exact_topk() && all_safe(maps.heat, nplane) && all_safe(maps.tag, nplane) &&
      (!P.flip || (all_safe(maps.heat_flip, nplane) && all_safe(maps.tag_flip, nplane)));
  const bool threshold_path = maps_safe && opt.detection_threshold >= 0.f;
  thread_local detail::ThresholdTopkScratch scratch;
  for (int j = 0; j < K; ++j) {
    float* val = &cand.val[static_cast<size_t>(j) * M];
    int n_above = M;
    bool done = false;
    if (threshold_path) {
      done = detail::topk_above_threshold(
          maps.heat + j * P.plane(), P.flip ? maps.heat_flip + j * P.plane() : nullptr, maps.h2,
          maps.w2, opt.nms_kernel, M, opt.detection_threshold, scratch, val, idx.data(),
          &n_above);
    }
    if (done) {
      detail::topk_path_stats().sparse++;
    } else {
      detail::topk_path_stats().exact++;
      n_above = M;
      const HeatBounds hb = heat_bounds(P, j);
      auto get = [&](int y, int x) { return P.det(j, y, x); };
      auto bound = [&](int y, int x) {
        return hb.block[static_cast<size_t>(detail::tap2x(y, maps.h2).i0) * maps.w2 +
                        detail::tap2x(x, maps.w2).i0];
      };
      auto row_bound = [&](int y) { return hb.row[y]; };
      detail::nms_topk_generic(get, bound, row_bound, H, W, opt.nms_kernel, M, val, idx.data());
    }
    for (int c = 0; c < M; ++c) {
      const size_t e = static_cast<size_t>(j) * M + c;
      cand.x[e] = idx[c] % W;
      cand.y[e] = idx[c] / W;
      if (c < n_above) {
        P.tag(j, cand.y[e], cand.x[e], &cand.tag[e * D]);
      } else {  // below the threshold: never read by the grouping
        for (int d = 0; d < D; ++d) cand.tag[e * D + d] = 0.f;
      }
    }
  }

  auto t_peaks = Clock::now();
  std::vector<Person> people = match_by_tag(cand, opt);
  const int row_len = 3 + D;
  auto t_match = Clock::now();

  if (opt.adjust) {
    for (Person& p : people)
      for (int j = 0; j < K; ++j) {
        float* r = &p.joints[static_cast<size_t>(j) * row_len];
        if (!(r[2] > 0)) continue;
        float x = r[0], y = r[1];
        const int xi = static_cast<int>(x), yi = static_cast<int>(y);
        x += quarter(P.det(j, yi, std::min(xi + 1, W - 1)), P.det(j, yi, std::max(xi - 1, 0)));
        y += quarter(P.det(j, std::min(yi + 1, H - 1), xi), P.det(j, std::max(0, yi - 1), xi));
        r[0] = x + 0.5f;
        r[1] = y + 0.5f;
      }
  }

  for (Person& p : people) p.score = detail::np_pairwise_sum(&p.joints[2], K, row_len) / K;
  auto t_adjust = Clock::now();

  if (opt.refine) {
    // Every person's mean tag first (from the joints found before refine),
    // then joint by joint: a person's refined joints depend only on that
    // mean and the maps, so this order gives the official results, and one
    // joint's W-resized rows serve all its people.
    std::vector<float> prevs(people.size() * 2, 0.f);
    std::vector<uint8_t> has_prev(people.size(), 0);
    std::vector<float> tl;
    for (size_t q = 0; q < people.size(); ++q) {
      const Person& p = people[q];
      // Mean tag of the detected joints (torch.mean over dim 0, float32).
      tl.clear();
      int n = 0;
      for (int j = 0; j < K; ++j) {
        const float* r = &p.joints[static_cast<size_t>(j) * row_len];
        if (r[2] > 0) {
          tl.insert(tl.end(), r + 3, r + 3 + D);
          n++;
        }
      }
      if (n == 0) continue;  // the official code would fail here; never happens
      has_prev[q] = 1;
      for (int d = 0; d < D; ++d) {
        const float s = D == 1 ? detail::torch_sum_d1(tl.data(), n)
                               : detail::torch_sum_col(tl.data() + d, n, D);
        prevs[q * 2 + d] = s / static_cast<float>(n);
      }
    }
    thread_local std::vector<float> wcache;
    const size_t wplane = static_cast<size_t>(maps.h2) * W;
    for (int j = 0; j < K; ++j) {
      bool needed = false;
      for (size_t q = 0; q < people.size(); ++q)
        needed |= has_prev[q] && people[q].joints[static_cast<size_t>(j) * row_len + 2] == 0;
      if (!needed) continue;
      TileBounds tiles = tile_bounds(P, j, !maps_safe);
      // The joint's maps resized along W (upsample2x's first step), 4 x h2 x W.
      if (wcache.size() < 4 * wplane) wcache.resize(4 * wplane);
      const float* src[4] = {maps.heat, maps.heat_flip, maps.tag, maps.tag_flip};
      WCache wc;
      wc.h2 = maps.h2, wc.w2 = maps.w2, wc.W = W;
      wc.ready.assign(4 * static_cast<size_t>(maps.h2), 0);
      for (int m = 0; m < 4; ++m) {
        if (!src[m]) continue;
        wc.src[m] = src[m] + j * P.plane();
        wc.dst[m] = wcache.data() + m * wplane;
      }
      for (size_t q = 0; q < people.size(); ++q) {
        if (!has_prev[q]) continue;
        float* r = &people[q].joints[static_cast<size_t>(j) * row_len];
        if (r[2] != 0) continue;  // only missing joints take the refined value
        const int pos = refine_argmax(P, j, tiles, &prevs[q * 2], maps_safe, &wc);
        const int yy = pos / W, xx = pos % W;
        const float val = P.det(j, yy, xx);
        float x = xx + 0.5f, y = yy + 0.5f;
        x += quarter(P.det(j, yy, std::min(xx + 1, W - 1)), P.det(j, yy, std::max(xx - 1, 0)));
        y += quarter(P.det(j, std::min(yy + 1, H - 1), xx), P.det(j, std::max(0, yy - 1), xx));
        if (val > 0) {
          r[0] = x;
          r[1] = y;
          r[2] = val;
        }
      }
    }
  }
  auto t_end = Clock::now();
  g_decode_timings.peaks = ms_between(t_start, t_peaks);
  g_decode_timings.matching = ms_between(t_peaks, t_match);
  g_decode_timings.adjust = ms_between(t_match, t_adjust);
  g_decode_timings.refine = ms_between(t_adjust, t_end);
  return people;
}

// Fast variant: decode the 1/2-resolution merged maps themselves (as if the
// input were h2 x w2), then scale coordinates by 2.
static std::vector<Person> parse_half(const HalfResMaps& maps, const DecodeOptions& opt);

std::vector<Person> decode(const float* out4, const float* out2, const float* out4_flip,
                           const float* out2_flip, int k, int height, int width,
                           const int* flip_index, const DecodeOptions& opt) {
  if (!out4 || !out2)
    throw InputError("decode: out4 and out2 are required");
  if (k <= 0 || height <= 0 || width <= 0 || height % 4 || width % 4)
    throw InputError("decode: expected K > 0 and an input size divisible by 4, got K=" +
                     std::to_string(k) + " " + std::to_string(height) + "x" +
                     std::to_string(width));
  if ((out4_flip == nullptr) != (out2_flip == nullptr))
    throw InputError("decode: out4_flip and out2_flip must be given together");
  const bool flip = out4_flip != nullptr;
  if (flip && !flip_index) throw InputError("decode: flip test needs a flip_index");
  const int h2 = height / 2, w2 = width / 2;
  const size_t plane = static_cast<size_t>(h2) * w2;
  // Merged maps in a per-thread buffer kept between calls: fresh pages for
  // 4-16 MB a frame cost more than the rest of the decoding.
  thread_local std::vector<float> buf, ws;
  if (buf.size() < plane * k * (flip ? 4 : 2)) buf.resize(plane * k * (flip ? 4 : 2));
  if (ws.size() < merge_outputs_workspace_size(k, h2, w2))
    ws.resize(merge_outputs_workspace_size(k, h2, w2));
  HalfResMaps maps;
  maps.k = k, maps.h2 = h2, maps.w2 = w2;
  maps.heat = buf.data();
  maps.tag = buf.data() + plane * k;
  g_decode_timings = DecodeTimings{};
  auto t_merge = Clock::now();
  merge_outputs(out4, out2, k, h2, w2, false, nullptr, buf.data(), buf.data() + plane * k,
                ws.data());
  if (flip) {
    float* hf = buf.data() + 2 * plane * k;
    float* tf = buf.data() + 3 * plane * k;
    merge_outputs(out4_flip, out2_flip, k, h2, w2, true, flip_index, hf, tf, ws.data());
    maps.heat_flip = hf;
    maps.tag_flip = tf;
  }
  g_decode_timings.merge = ms_between(t_merge, Clock::now());
  if (opt.project_to_input) return parse(maps, opt);
  auto t_half = Clock::now();
  auto people = parse_half(maps, opt);
  g_decode_timings.peaks = ms_between(t_half, Clock::now());
  return people;
}

static std::vector<Person> parse_half(const HalfResMaps& maps, const DecodeOptions& opt) {
  // Average heatmaps of the passes at 1/2 resolution, tags as they are.
  const int K = maps.k, h = maps.h2, w = maps.w2;
  const size_t plane = static_cast<size_t>(h) * w;
  const bool flip = maps.heat_flip != nullptr;
  const int D = flip ? 2 : 1;
  const kernels::DecodeKernels& kr = kernels::decode_kernels();
  const kernels::AllSafeFn all_safe = kr.all_safe;
  const bool safe = all_safe(maps.heat, plane * K) && all_safe(maps.tag, plane * K) &&
                    (!flip || (all_safe(maps.heat_flip, plane * K) &&
                               all_safe(maps.tag_flip, plane * K)));
  thread_local std::vector<float> det, vrow;
  if (det.size() < plane * K) det.resize(plane * K);
  vrow.resize(w);
  for (size_t i = 0; i < plane * K; ++i)
    det[i] = flip ? (maps.heat[i] + maps.heat_flip[i]) / 2.0f : maps.heat[i];
  const int M = static_cast<int>(std::min<long>(opt.max_num_people, static_cast<long>(plane)));
  Candidates cand = sized_candidates(K, M, D);
  std::vector<int> idx(M);
  // Kernel 5 at input resolution is about 3 at 1/2 (kernel / 2, made odd).
  const int kk = std::max(1, (opt.nms_kernel / 2) | 1);
  for (int j = 0; j < K; ++j) {
    nms_topk(&det[j * plane], h, w, kk, M, &cand.val[static_cast<size_t>(j) * M], idx.data());
    for (int c = 0; c < M; ++c) {
      const size_t e = static_cast<size_t>(j) * M + c;
      cand.x[e] = idx[c] % w;
      cand.y[e] = idx[c] / w;
      cand.tag[e * D] = maps.tag[j * plane + idx[c]];
      if (flip) cand.tag[e * D + 1] = maps.tag_flip[j * plane + idx[c]];
    }
  }
  std::vector<Person> people = match_by_tag(cand, opt);
  const int row_len = 3 + D;
  for (Person& p : people) {
    for (int j = 0; j < K; ++j) {
      float* r = &p.joints[static_cast<size_t>(j) * row_len];
      if (!(r[2] > 0)) continue;
      const float* m = &det[j * plane];
      float x = r[0], y = r[1];
      const int xi = static_cast<int>(x), yi = static_cast<int>(y);
      if (opt.adjust) {
        x += quarter(m[yi * w + std::min(xi + 1, w - 1)], m[yi * w + std::max(xi - 1, 0)]);
        y += quarter(m[std::min(yi + 1, h - 1) * w + xi], m[std::max(0, yi - 1) * w + xi]);
      }
      // 1/2-res pixel centre (x + 0.5) is input coordinate 2 * (x + 0.5).
      r[0] = 2.f * (x + 0.5f);
      r[1] = 2.f * (y + 0.5f);
    }
    p.score = detail::np_pairwise_sum(&p.joints[2], K, row_len) / K;
  }
  if (opt.refine) {
    for (Person& p : people) {
      float prev[2] = {0.f, 0.f};
      int n = 0;
      for (int j = 0; j < K; ++j) {
        const float* r = &p.joints[static_cast<size_t>(j) * row_len];
        if (r[2] > 0) {
          for (int d = 0; d < D; ++d) prev[d] += r[3 + d];
          n++;
        }
      }
      if (n == 0) continue;
      for (int d = 0; d < D; ++d) prev[d] /= n;
      for (int j = 0; j < K; ++j) {
        float* r = &p.joints[static_cast<size_t>(j) * row_len];
        if (r[2] != 0) continue;
        const float* m = &det[j * plane];
        float best = -kInf;
        size_t bi = 0;
        if (safe) {
          // Row by row through the kernels: v = m - round(||tag - prev||)
          // (0 + t*t is t*t), first maximum as the loop below.
          for (int y = 0; y < h; ++y) {
            const size_t row = static_cast<size_t>(y) * w;
            kr.refine_score(m + row, maps.tag + j * plane + row,
                            flip ? maps.tag_flip + j * plane + row : nullptr, prev[0], prev[1], w,
                            vrow.data());
            float vm;
            const int x = kr.argmax(vrow.data(), w, &vm);
            if (vm > best) best = vm, bi = row + x;
          }
        } else {
          for (size_t i = 0; i < plane; ++i) {
            float ss = 0.f;
            for (int d = 0; d < D; ++d) {
              const float t = (d == 0 ? maps.tag : maps.tag_flip)[j * plane + i] - prev[d];
              ss += t * t;
            }
            const float v = m[i] - std::nearbyint(std::sqrt(ss));
            if (v > best) best = v, bi = i;
          }
        }
        const int yy = static_cast<int>(bi / w), xx = static_cast<int>(bi % w);
        float x = xx + 0.5f, y = yy + 0.5f;
        x += quarter(m[yy * w + std::min(xx + 1, w - 1)], m[yy * w + std::max(xx - 1, 0)]);
        y += quarter(m[std::min(yy + 1, h - 1) * w + xx], m[std::max(0, yy - 1) * w + xx]);
        if (m[bi] > 0) {
          r[0] = 2.f * x;
          r[1] = 2.f * y;
          r[2] = m[bi];
        }
      }
    }
  }
  return people;
}

void transform_people(std::vector<Person>& people, const Affine& t) {
  auto t0 = Clock::now();
  // transform_preds: np.dot(trans, [x, y, 1.]) in float64, stored float32.
  for (Person& p : people) {
    const int row_len = 3 + p.d;
    for (int j = 0; j < p.k; ++j) {
      float* r = &p.joints[static_cast<size_t>(j) * row_len];
      const double x = r[0], y = r[1];
      r[0] = static_cast<float>(t.m[0] * x + t.m[1] * y + t.m[2]);
      r[1] = static_cast<float>(t.m[3] * x + t.m[4] * y + t.m[5]);
    }
  }
  g_decode_timings.mapping = ms_between(t0, Clock::now());
}

}  // namespace litepose
