// HeatmapParser.parse of the official code (top_k, match, adjust, refine)
// on maps projected to the input size, plus the dataset tables and the
// final mapping to image pixels.
//
// Why lazily projected maps: the official pipeline resizes every heatmap
// and tag map to the input size (PROJECT2IMAGE) before parsing, and its
// refine step scans whole maps once per person.  Here a projected value is
// computed only where it is needed, with exactly the arithmetic of the
// resized map (detail::up2x_at), and whole regions are skipped with bounds
// taken from the 1/2-resolution maps (a bilinear value never exceeds the
// largest of its taps, up to rounding, which the bounds allow for).
#include "decode/decode_internal.h"

#include <algorithm>
#include <string>

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
  return std::vector<int>(order, order + num_joints);
}

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// Slack for bounds: values computed by bilinear steps may exceed the
// largest tap by a few ulps.
inline float up_slack(float b) { return b + std::fabs(b) * 1e-5f + 1e-30f; }
inline float down_slack(float b) { return b - std::fabs(b) * 1e-5f - 1e-30f; }

// The projected maps of one image (input size H x W), computed on demand.
struct Projected {
  const HalfResMaps& m;
  int H, W;
  bool flip;
  explicit Projected(const HalfResMaps& maps)
      : m(maps), H(2 * maps.h2), W(2 * maps.w2), flip(maps.heat_flip != nullptr) {}
  size_t plane() const { return static_cast<size_t>(m.h2) * m.w2; }
  float det(int j, int y, int x) const {
    const float a = detail::up2x_at(m.heat + j * plane(), m.h2, m.w2, y, x);
    if (!flip) return a;
    const float b = detail::up2x_at(m.heat_flip + j * plane(), m.h2, m.w2, y, x);
    return (a + b) / 2.0f;
  }
  void tag(int j, int y, int x, float* t) const {
    t[0] = detail::up2x_at(m.tag + j * plane(), m.h2, m.w2, y, x);
    if (flip) t[1] = detail::up2x_at(m.tag_flip + j * plane(), m.h2, m.w2, y, x);
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
};

TileBounds tile_bounds(const Projected& P, int j) {
  const int h2 = P.m.h2, w2 = P.m.w2, D = P.dims();
  TileBounds t;
  t.ty = (P.H + kTile - 1) / kTile;
  t.tx = (P.W + kTile - 1) / kTile;
  const size_t nt = static_cast<size_t>(t.ty) * t.tx;
  t.det_max.assign(nt, -kInf);
  t.tmin.assign(nt * D, kInf);
  t.tmax.assign(nt * D, -kInf);
  // 1/2-res rows/cols that projected tile index a reads: taps of its first
  // and last projected row.
  auto range = [](int a, int full, int half, int* lo, int* hi) {
    const int first = a * kTile, last = std::min(full - 1, a * kTile + kTile - 1);
    *lo = detail::tap2x(first, half).i0;
    *hi = detail::tap2x(last, half).i1;
  };
  std::vector<int> xlo(t.tx), xhi(t.tx);
  for (int a = 0; a < t.tx; ++a) range(a, P.W, w2, &xlo[a], &xhi[a]);
  const float* maps[4] = {P.m.heat + j * P.plane(), P.flip ? P.m.heat_flip + j * P.plane() : nullptr,
                          P.m.tag + j * P.plane(), P.flip ? P.m.tag_flip + j * P.plane() : nullptr};
  // Column-window extremes per 1/2-res row, then over the tile's rows.
  std::vector<float> cmax(static_cast<size_t>(h2) * t.tx), cmin(static_cast<size_t>(h2) * t.tx);
  std::vector<float> hmax[2];
  for (int q = 0; q < 4; ++q) {
    const float* m = maps[q];
    if (!m) continue;
    for (int y = 0; y < h2; ++y)
      for (int a = 0; a < t.tx; ++a) {
        float lo = kInf, hi = -kInf;
        for (int x = xlo[a]; x <= xhi[a]; ++x) {
          const float v = m[static_cast<size_t>(y) * w2 + x];
          lo = std::min(lo, v);
          hi = std::max(hi, v);
        }
        cmin[static_cast<size_t>(y) * t.tx + a] = lo;
        cmax[static_cast<size_t>(y) * t.tx + a] = hi;
      }
    if (q < 2) hmax[q].assign(nt, -kInf);
    for (int b = 0; b < t.ty; ++b) {
      int ylo, yhi;
      range(b, P.H, h2, &ylo, &yhi);
      for (int a = 0; a < t.tx; ++a) {
        float lo = kInf, hi = -kInf;
        for (int y = ylo; y <= yhi; ++y) {
          lo = std::min(lo, cmin[static_cast<size_t>(y) * t.tx + a]);
          hi = std::max(hi, cmax[static_cast<size_t>(y) * t.tx + a]);
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

// refine's per-joint argmax of det - round(||tag - prev_tag||) over the
// projected map (first index among equal maxima, as torch.argmax).
int refine_argmax(const Projected& P, int j, const TileBounds& tb, const float* prev) {
  const int D = P.dims();
  const size_t nt = tb.det_max.size();
  std::vector<float> ub(nt);
  size_t best_tile = 0;
  for (size_t ti = 0; ti < nt; ++ti) {
    float ss = 0.f;
    for (int d = 0; d < D; ++d) {
      float g = 0.f;
      if (prev[d] < tb.tmin[ti * D + d]) g = tb.tmin[ti * D + d] - prev[d];
      if (prev[d] > tb.tmax[ti * D + d]) g = prev[d] - tb.tmax[ti * D + d];
      ss += g * g;
    }
    const float lb = std::max(0.f, down_slack(std::sqrt(ss)));
    ub[ti] = up_slack(tb.det_max[ti] - std::nearbyint(lb));
    if (ub[ti] > ub[best_tile]) best_tile = ti;
  }
  float best = -kInf;
  long best_idx = -1;
  auto eval_tile = [&](size_t ti) {
    const int b = static_cast<int>(ti / tb.tx), a = static_cast<int>(ti % tb.tx);
    const int y_end = std::min(P.H, (b + 1) * kTile), x_end = std::min(P.W, (a + 1) * kTile);
    float t[2];
    for (int y = b * kTile; y < y_end; ++y)
      for (int x = a * kTile; x < x_end; ++x) {
        P.tag(j, y, x, t);
        float ss = 0.f;
        for (int d = 0; d < D; ++d) {
          const float df = t[d] - prev[d];
          const float sq = df * df;
          ss = d == 0 ? sq : ss + sq;
        }
        const float v = P.det(j, y, x) - std::nearbyint(std::sqrt(ss));
        const long idx = static_cast<long>(y) * P.W + x;
        if (v > best || (v == best && idx < best_idx) || best_idx < 0) {
          best = v;
          best_idx = idx;
        }
      }
  };
  eval_tile(best_tile);
  for (size_t ti = 0; ti < nt; ++ti)
    if (ti != best_tile && ub[ti] >= best) eval_tile(ti);
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
  const Projected P(maps);
  const int D = P.dims();
  const int H = P.H, W = P.W;
  const int M = static_cast<int>(std::min<long>(opt.max_num_people, static_cast<long>(H) * W));

  // top_k: NMS + top-k per joint, tags gathered at the peaks.
  Candidates cand;
  cand.k = K, cand.m = M, cand.d = D;
  cand.val.resize(static_cast<size_t>(K) * M);
  cand.x.resize(cand.val.size());
  cand.y.resize(cand.val.size());
  cand.tag.resize(cand.val.size() * D);
  std::vector<int> idx(M);
  for (int j = 0; j < K; ++j) {
    const HeatBounds hb = heat_bounds(P, j);
    auto get = [&](int y, int x) { return P.det(j, y, x); };
    auto bound = [&](int y, int x) {
      return hb.block[static_cast<size_t>(detail::tap2x(y, maps.h2).i0) * maps.w2 +
                      detail::tap2x(x, maps.w2).i0];
    };
    auto row_bound = [&](int y) { return hb.row[y]; };
    float* val = &cand.val[static_cast<size_t>(j) * M];
    detail::nms_topk_generic(get, bound, row_bound, H, W, opt.nms_kernel, M, val, idx.data());
    for (int c = 0; c < M; ++c) {
      const size_t e = static_cast<size_t>(j) * M + c;
      cand.x[e] = idx[c] % W;
      cand.y[e] = idx[c] / W;
      P.tag(j, cand.y[e], cand.x[e], &cand.tag[e * D]);
    }
  }

  std::vector<Person> people = match_by_tag(cand, opt);
  const int row_len = 3 + D;

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

  if (opt.refine) {
    std::vector<TileBounds> tiles(K);
    std::vector<bool> have(K, false);
    std::vector<float> tl;
    for (Person& p : people) {
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
      float prev[2];
      for (int d = 0; d < D; ++d) {
        const float s = D == 1 ? detail::torch_sum_d1(tl.data(), n)
                               : detail::torch_sum_col(tl.data() + d, n, D);
        prev[d] = s / static_cast<float>(n);
      }
      for (int j = 0; j < K; ++j) {
        float* r = &p.joints[static_cast<size_t>(j) * row_len];
        if (r[2] != 0) continue;  // only missing joints take the refined value
        if (!have[j]) tiles[j] = tile_bounds(P, j), have[j] = true;
        const int pos = refine_argmax(P, j, tiles[j], prev);
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
  std::vector<float> buf(plane * k * (flip ? 4 : 2));
  std::vector<float> ws(merge_outputs_workspace_size(k, h2, w2));
  HalfResMaps maps;
  maps.k = k, maps.h2 = h2, maps.w2 = w2;
  maps.heat = buf.data();
  maps.tag = buf.data() + plane * k;
  merge_outputs(out4, out2, k, h2, w2, false, nullptr, buf.data(), buf.data() + plane * k,
                ws.data());
  if (flip) {
    float* hf = buf.data() + 2 * plane * k;
    float* tf = buf.data() + 3 * plane * k;
    merge_outputs(out4_flip, out2_flip, k, h2, w2, true, flip_index, hf, tf, ws.data());
    maps.heat_flip = hf;
    maps.tag_flip = tf;
  }
  return opt.project_to_input ? parse(maps, opt) : parse_half(maps, opt);
}

static std::vector<Person> parse_half(const HalfResMaps& maps, const DecodeOptions& opt) {
  // Average heatmaps of the passes at 1/2 resolution, tags as they are.
  const int K = maps.k, h = maps.h2, w = maps.w2;
  const size_t plane = static_cast<size_t>(h) * w;
  const bool flip = maps.heat_flip != nullptr;
  const int D = flip ? 2 : 1;
  std::vector<float> det(plane * K);
  for (size_t i = 0; i < plane * K; ++i)
    det[i] = flip ? (maps.heat[i] + maps.heat_flip[i]) / 2.0f : maps.heat[i];
  const int M = static_cast<int>(std::min<long>(opt.max_num_people, static_cast<long>(plane)));
  Candidates cand;
  cand.k = K, cand.m = M, cand.d = D;
  cand.val.resize(static_cast<size_t>(K) * M);
  cand.x.resize(cand.val.size());
  cand.y.resize(cand.val.size());
  cand.tag.resize(cand.val.size() * D);
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
        for (size_t i = 0; i < plane; ++i) {
          float ss = 0.f;
          for (int d = 0; d < D; ++d) {
            const float t = (d == 0 ? maps.tag : maps.tag_flip)[j * plane + i] - prev[d];
            ss += t * t;
          }
          const float v = m[i] - std::nearbyint(std::sqrt(ss));
          if (v > best) best = v, bi = i;
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
}

}  // namespace litepose
