// The decoder's fast exact paths against the plain ones.
//
// Why: the default decoder skips pixels that cannot reach the detection
// threshold (detail::topk_above_threshold), evaluates refine's tiles in
// blocks (detail::project_block + refine_score) and upsamples with FMA row
// kernels (f32-decode).  Each must give the bits of the straightforward
// computation: the kernels against the scalar set, project_block against
// upsample2x, the threshold top-k against nms_topk on the resized map, and
// parse() against itself with the exact scan forced -- including the
// branches that fall back (equal values above the threshold, non-finite
// maps, a negative threshold).
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "decode/decode_internal.h"
#include "kernels/f32-decode/f32-decode.h"
#include "litepose/decode.h"
#include "testing.h"

using namespace litepose;
namespace k = litepose::kernels;

namespace {

bool same_bits(const float* a, const float* b, size_t n) {
  return std::memcmp(a, b, n * sizeof(float)) == 0;
}

// Smooth peaks (network-like heatmaps): sum of Gaussians plus small noise.
std::vector<float> peaks_map(int h, int w, int n_peaks, unsigned seed, float amp = 0.9f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  std::vector<float> m(static_cast<size_t>(h) * w);
  for (auto& v : m) v = 0.02f * u(rng) - 0.005f;
  for (int p = 0; p < n_peaks; ++p) {
    const float cy = u(rng) * h, cx = u(rng) * w, a = amp * (0.3f + 0.7f * u(rng));
    const float s = 0.8f + 2.f * u(rng);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        const float d = ((y - cy) * (y - cy) + (x - cx) * (x - cx)) / (2 * s * s);
        m[static_cast<size_t>(y) * w + x] += a * std::exp(-d);
      }
  }
  return m;
}

std::vector<float> random_map(int h, int w, unsigned seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> m(static_cast<size_t>(h) * w);
  for (auto& v : m) v = u(rng);
  return m;
}

void check_same_people(const std::vector<Person>& a, const std::vector<Person>& b,
                       const char* what) {
  CHECK_MSG(a.size() == b.size(), what << ": " << a.size() << " vs " << b.size() << " people");
  if (a.size() != b.size()) return;
  for (size_t p = 0; p < a.size(); ++p) {
    CHECK_MSG(a[p].joints.size() == b[p].joints.size() &&
                  same_bits(a[p].joints.data(), b[p].joints.data(), a[p].joints.size()),
              what << ": person " << p << " differs");
    CHECK_MSG(std::memcmp(&a[p].score, &b[p].score, sizeof(float)) == 0,
              what << ": score of person " << p << " differs");
  }
}

// parse() with the threshold path and with the exact scan forced; returns
// how many joints took each path in the first run.
detail::TopkPathStats parse_both(const HalfResMaps& maps, const DecodeOptions& opt,
                                 const char* what) {
  detail::topk_path_stats() = {};
  const std::vector<Person> fast = parse(maps, opt);
  const detail::TopkPathStats st = detail::topk_path_stats();
  detail::force_exact_topk() = true;
  const std::vector<Person> exact = parse(maps, opt);
  detail::force_exact_topk() = false;
  check_same_people(fast, exact, what);
  return st;
}

}  // namespace

// ------------------------------------------------------------- kernels
TEST(kernels_avx2_equal_scalar_on_odd_lengths) {
  const k::DecodeKernels* v = k::decode_kernels_avx2();
  if (!v) {
    std::printf("  (no AVX2+FMA kernels on this build/CPU: skipped)\n");
    return;
  }
  const k::DecodeKernels& s = k::decode_kernels_scalar();
  for (int n = 1; n <= 41; ++n) {
    const std::vector<float> a = random_map(1, n + 1, 100 + n, -3.f, 3.f);
    const std::vector<float> b = random_map(1, n + 1, 200 + n, -3.f, 3.f);
    const std::vector<float> c = random_map(1, n + 1, 300 + n, -1.f, 1.f);
    std::vector<float> o1(2 * n + 2, 7.f), o2(2 * n + 2, 7.f);
    s.wpass(a.data(), n, o1.data());
    v->wpass(a.data(), n, o2.data());
    CHECK_MSG(same_bits(o1.data(), o2.data(), 2 * n + 2), "wpass n=" << n);
    const float ws[4][2] = {{1.f, 0.f}, {0.75f, 0.25f}, {0.25f, 0.75f}, {0.75f, 0.25f}};
    for (const auto& w : ws) {
      s.hpass(a.data(), b.data(), w[0], w[1], n, o1.data());
      v->hpass(a.data(), b.data(), w[0], w[1], n, o2.data());
      CHECK_MSG(same_bits(o1.data(), o2.data(), n), "hpass n=" << n);
      s.hpass_avg(a.data(), b.data(), w[0], w[1], c.data(), n, o1.data());
      v->hpass_avg(a.data(), b.data(), w[0], w[1], c.data(), n, o2.data());
      CHECK_MSG(same_bits(o1.data(), o2.data(), n), "hpass_avg n=" << n);
    }
    for (const float* t1 : {static_cast<const float*>(nullptr), b.data()}) {
      s.refine_score(c.data(), a.data(), t1, 0.3f, -1.2f, n, o1.data());
      v->refine_score(c.data(), a.data(), t1, 0.3f, -1.2f, n, o2.data());
      CHECK_MSG(same_bits(o1.data(), o2.data(), n), "refine_score n=" << n);
    }
  }
  // Point values and -0 inputs (the 0 + of the average turns -0 into +0).
  const std::vector<float> m = random_map(7, 9, 5, -2.f, 2.f);
  for (int y = 0; y < 14; ++y)
    for (int x = 0; x < 18; ++x) {
      const float p = s.at(m.data(), 7, 9, y, x), q = v->at(m.data(), 7, 9, y, x);
      CHECK_MSG(same_bits(&p, &q, 1), "at " << y << "," << x);
    }
  const float z[8] = {-0.f, -0.f, -0.f, -0.f, -0.f, -0.f, -0.f, -0.f};
  float o1[8], o2[8];
  s.hpass_avg(z, z, 0.75f, 0.25f, z, 8, o1);
  v->hpass_avg(z, z, 0.75f, 0.25f, z, 8, o2);
  CHECK(same_bits(o1, o2, 8) && !std::signbit(o2[0]));
}

TEST(upsample2x_is_the_same_with_either_kernel_set) {
  // upsample2x runs the selected set; compare with the scalar rows by hand.
  const std::vector<float> m = random_map(11, 13, 9, -1.f, 1.f);
  std::vector<float> got(4 * m.size()), want(4 * m.size()), r0(26), r1(26);
  upsample2x(m.data(), 1, 11, 13, got.data());
  const k::DecodeKernels& s = k::decode_kernels_scalar();
  for (int y = 0; y < 22; ++y) {
    const detail::Tap t = detail::tap2x(y, 11);
    s.wpass(&m[t.i0 * 13], 13, r0.data());
    s.wpass(&m[t.i1 * 13], 13, r1.data());
    s.hpass(r0.data(), r1.data(), t.w0, t.w1, 26, &want[y * 26]);
  }
  CHECK(same_bits(got.data(), want.data(), got.size()));
}

TEST(project_block_equals_upsample2x_on_every_subrectangle_kind) {
  for (const auto& hw : {std::pair<int, int>{1, 1}, {1, 5}, {6, 1}, {9, 14}, {16, 23}}) {
    const int h = hw.first, w = hw.second, H = 2 * h, W = 2 * w;
    const std::vector<float> m = random_map(h, w, h * 31 + w, -2.f, 2.f);
    std::vector<float> full(static_cast<size_t>(H) * W), blk(static_cast<size_t>(H) * W), rows;
    upsample2x(m.data(), 1, h, w, full.data());
    const int cuts[] = {0, 1, 2, 3, 4, 5, 7, 8};
    for (int y0 : cuts)
      for (int x0 : cuts)
        for (int ylen : {1, 2, 3, 16})
          for (int xlen : {1, 2, 3, 5, 16}) {
            if (y0 >= H || x0 >= W) continue;
            const int y1 = std::min(H - 1, y0 + ylen - 1), x1 = std::min(W - 1, x0 + xlen - 1);
            detail::project_block(m.data(), h, w, y0, y1, x0, x1, rows, blk.data());
            bool ok = true;
            const int len = x1 - x0 + 1;
            for (int y = y0; y <= y1; ++y)
              ok &= same_bits(&blk[(y - y0) * len], &full[y * W + x0], len);
            // The last columns / rows of the map too.
            detail::project_block(m.data(), h, w, H - 1 - y1 + y0, H - 1, W - len, W - 1, rows,
                                  blk.data());
            for (int y = H - 1 - y1 + y0; y <= H - 1; ++y)
              ok &= same_bits(&blk[(y - (H - 1 - y1 + y0)) * len], &full[y * W + W - len], len);
            CHECK_MSG(ok, h << "x" << w << " block at " << y0 << "," << x0);
          }
  }
}

// ------------------------------------------------- threshold top-k
namespace {
// Runs topk_above_threshold and checks it against nms_topk on the resized
// map (the official computation): same entries above thr, same order.
bool check_threshold_topk(const std::vector<float>& a, const std::vector<float>* f, int h2,
                          int w2, int kk, float thr, const char* what) {
  const int H = 2 * h2, W = 2 * w2;
  std::vector<float> det(static_cast<size_t>(H) * W);
  upsample2x(a.data(), 1, h2, w2, det.data());
  if (f) {
    std::vector<float> d2(det.size());
    upsample2x(f->data(), 1, h2, w2, d2.data());
    for (size_t i = 0; i < det.size(); ++i) det[i] = (det[i] + d2[i]) / 2.0f;
  }
  const int M = std::min(kk, H * W);
  std::vector<float> wv(M), gv(M);
  std::vector<int> wi(M), gi(M);
  nms_topk(det.data(), H, W, 5, M, wv.data(), wi.data());
  detail::ThresholdTopkScratch s;
  int n = -1;
  const bool ok = detail::topk_above_threshold(a.data(), f ? f->data() : nullptr, h2, w2, 5, M,
                                               thr, s, gv.data(), gi.data(), &n);
  if (!ok) return false;
  int want_n = 0;
  while (want_n < M && wv[want_n] > thr) ++want_n;
  CHECK_MSG(n == want_n, what << ": " << n << " above threshold, want " << want_n);
  for (int i = 0; i < std::min(n, want_n); ++i)
    CHECK_MSG(gv[i] == wv[i] && gi[i] == wi[i],
              what << ": entry " << i << " (" << gv[i] << ", " << gi[i] << ") want (" << wv[i]
                   << ", " << wi[i] << ")");
  for (int i = n; i < M; ++i) CHECK(gv[i] <= thr);
  // The scratch is left -inf everywhere for the next call.
  bool clean = true;
  for (float v : s.proj) clean &= v == -std::numeric_limits<float>::infinity();
  CHECK_MSG(clean, what << ": scratch not reset");
  return true;
}
}  // namespace

TEST(threshold_topk_equals_nms_topk_above_threshold) {
  int runs = 0;
  for (unsigned seed = 0; seed < 12; ++seed) {
    const int h2 = 20 + seed % 5, w2 = 28 + seed % 7;
    const std::vector<float> a = peaks_map(h2, w2, 1 + seed % 9, seed);
    const std::vector<float> f = peaks_map(h2, w2, 1 + seed % 9, seed + 50);
    runs += check_threshold_topk(a, nullptr, h2, w2, 30, 0.1f, "no flip");
    runs += check_threshold_topk(a, &f, h2, w2, 30, 0.1f, "flip");
  }
  CHECK_MSG(runs >= 20, "only " << runs << " of 24 maps took the threshold path");
}

TEST(threshold_topk_more_peaks_than_k_borders_and_empty) {
  // 40 peaks, k = 5: only the 5 best survive; peaks on every border.
  const std::vector<float> many = peaks_map(30, 30, 40, 77);
  CHECK(check_threshold_topk(many, nullptr, 30, 30, 5, 0.1f, "k=5"));
  std::vector<float> border = random_map(12, 16, 21, 0.f, 0.02f);
  border[0] = 0.9f, border[15] = 0.8f, border[11 * 16] = 0.7f, border[12 * 16 - 1] = 0.6f;
  border[5 * 16] = 0.5f, border[7 * 16 + 15] = 0.45f;
  CHECK(check_threshold_topk(border, nullptr, 12, 16, 30, 0.1f, "borders"));
  const std::vector<float> empty(12 * 16, 0.05f);
  CHECK(check_threshold_topk(empty, nullptr, 12, 16, 30, 0.1f, "all below"));
  // A 1 x 1 map projects to 2 x 2 equal values, a single row to two equal
  // rows: always ties, so the exact scan must be asked for.
  const std::vector<float> one(1, 0.5f);
  CHECK(!check_threshold_topk(one, nullptr, 1, 1, 30, 0.1f, "1x1"));
  const std::vector<float> row = {0.2f, 0.7f, 0.1f, 0.9f, 0.3f, 0.05f, 0.6f};
  CHECK(!check_threshold_topk(row, nullptr, 1, 7, 30, 0.1f, "1x7"));
  // Two rows: distinct values, the path applies.
  const std::vector<float> two = {0.2f, 0.7f, 0.1f, 0.9f, 0.3f, 0.05f, 0.6f,
                                  0.3f, 0.4f, 0.15f, 0.5f, 0.35f, 0.07f, 0.2f};
  CHECK(check_threshold_topk(two, nullptr, 2, 7, 30, 0.1f, "2x7"));
}

TEST(threshold_topk_reports_ties_above_threshold) {
  // A plateau of 0.5 projects to equal values: the order is torch's heap
  // order, so the threshold path must decline.
  std::vector<float> a(10 * 10, 0.f);
  for (int y = 3; y < 7; ++y)
    for (int x = 3; x < 7; ++x) a[y * 10 + x] = 0.5f;
  detail::ThresholdTopkScratch s;
  float v[30];
  int idx[30], n;
  CHECK(!detail::topk_above_threshold(a.data(), nullptr, 10, 10, 5, 30, 0.1f, s, v, idx, &n));
  // Two equal isolated peaks: equal kept values -> decline too.
  std::vector<float> b(10 * 20, 0.f);
  b[2 * 20 + 3] = 0.7f, b[7 * 20 + 15] = 0.7f;
  CHECK(!detail::topk_above_threshold(b.data(), nullptr, 10, 20, 5, 30, 0.1f, s, v, idx, &n));
  // Equal values that cannot be chosen (beyond k + 1) do not matter.  A
  // noisy background keeps each spike's projected pixels distinct.
  std::vector<float> c = random_map(10, 20, 3, 0.f, 0.02f);
  c[1 * 20 + 1] = 0.9f, c[5 * 20 + 10] = 0.8f, c[2 * 20 + 17] = 0.3f, c[8 * 20 + 4] = 0.3f;
  CHECK(check_threshold_topk(c, nullptr, 10, 20, 1, 0.1f, "tie beyond k+1"));
  // Ties below the threshold do not matter either.
  std::vector<float> d(10 * 20, 0.05f);
  d[4 * 20 + 4] = 0.6f, d[4 * 20 + 5] = 0.3f, d[5 * 20 + 4] = 0.2f, d[3 * 20 + 3] = 0.25f;
  CHECK(check_threshold_topk(d, nullptr, 10, 20, 30, 0.1f, "ties below thr"));
}

// ----------------------------------------------------------------- parse
namespace {
struct Maps {
  int k, h2, w2;
  std::vector<float> heat, tag, heat_f, tag_f;
  HalfResMaps view(bool flip) const {
    HalfResMaps m;
    m.k = k, m.h2 = h2, m.w2 = w2;
    m.heat = heat.data(), m.tag = tag.data();
    if (flip) m.heat_flip = heat_f.data(), m.tag_flip = tag_f.data();
    return m;
  }
};
Maps people_maps(int k, int h2, int w2, int n_people, unsigned seed) {
  Maps m{k, h2, w2, {}, {}, {}, {}};
  const size_t plane = static_cast<size_t>(h2) * w2;
  m.heat.assign(plane * k, 0.f);
  m.tag.assign(plane * k, 0.f);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  for (int j = 0; j < k; ++j) {
    std::vector<float> h = peaks_map(h2, w2, n_people, seed * 97 + j);
    std::copy(h.begin(), h.end(), m.heat.begin() + j * plane);
    // Tags: smooth ramps so that people separate, plus noise.
    for (size_t i = 0; i < plane; ++i)
      m.tag[j * plane + i] = 0.05f * static_cast<float>(i % w2) + 0.2f * u(rng);
  }
  m.heat_f = m.heat;
  m.tag_f = m.tag;
  for (auto& v : m.heat_f) v *= 0.97f;
  for (auto& v : m.tag_f) v += 0.01f;
  return m;
}
}  // namespace

TEST(parse_threshold_path_equals_exact_scan) {
  for (unsigned seed = 1; seed <= 4; ++seed) {
    const Maps m = people_maps(14, 28, 40, 2 + 3 * seed, seed);
    for (bool flip : {false, true}) {
      DecodeOptions opt;
      const auto st = parse_both(m.view(flip), opt, flip ? "flip" : "no flip");
      CHECK_MSG(st.sparse == 14 && st.exact == 0, "sparse " << st.sparse << " exact " << st.exact);
      opt.refine = false;
      parse_both(m.view(flip), opt, "no refine");
    }
  }
}

TEST(parse_falls_back_on_ties_above_threshold) {
  Maps m = people_maps(14, 28, 40, 4, 9);
  const size_t plane = 28 * 40;
  // Joint 3: a plateau; joint 5: two equal isolated peaks.
  for (int y = 10; y < 14; ++y)
    for (int x = 20; x < 26; ++x) m.heat[3 * plane + y * 40 + x] = 0.6f;
  for (size_t i = 0; i < plane; ++i) m.heat[5 * plane + i] = 0.f;
  m.heat[5 * plane + 5 * 40 + 5] = 0.8f;
  m.heat[5 * plane + 20 * 40 + 30] = 0.8f;
  DecodeOptions opt;
  const auto st = parse_both(m.view(false), opt, "ties");
  CHECK_MSG(st.exact == 2 && st.sparse == 12, "sparse " << st.sparse << " exact " << st.exact);
}

TEST(parse_uses_exact_scan_for_non_finite_maps_and_negative_threshold) {
  Maps m = people_maps(14, 28, 40, 3, 11);
  DecodeOptions opt;
  opt.detection_threshold = -0.5f;
  auto st = parse_both(m.view(false), opt, "negative threshold");
  CHECK(st.sparse == 0 && st.exact == 14);
  opt = DecodeOptions();
  m.heat[7] = std::numeric_limits<float>::infinity();
  detail::topk_path_stats() = {};
  try {
    parse(m.view(false), opt);
  } catch (const std::exception&) {
  }
  CHECK(detail::topk_path_stats().sparse == 0);
  m.heat[7] = 0.f;
  m.tag[5] = std::nanf("");
  detail::topk_path_stats() = {};
  bool threw = false;
  try {
    parse(m.view(false), opt);
  } catch (const InputError&) {
    threw = true;  // a NaN tag among the top-k candidates, as before
  }
  (void)threw;
  CHECK(detail::topk_path_stats().sparse == 0);
}

TEST(decode_end_to_end_threshold_path_equals_exact_scan) {
  // Raw outputs at 1/4 and 1/2, through merge (+ flip) and parse.
  const int K = 14, H = 96, W = 128;
  std::vector<float> o4(2 * K * (H / 4) * (W / 4)), o2(K * (H / 2) * (W / 2));
  for (int c = 0; c < K; ++c) {
    const std::vector<float> a = peaks_map(H / 4, W / 4, 5, 300 + c);
    std::copy(a.begin(), a.end(), o4.begin() + c * (H / 4) * (W / 4));
    const std::vector<float> t = random_map(H / 4, W / 4, 400 + c, -1.f, 3.f);
    std::copy(t.begin(), t.end(), o4.begin() + (K + c) * (H / 4) * (W / 4));
    const std::vector<float> b = peaks_map(H / 2, W / 2, 5, 500 + c);
    std::copy(b.begin(), b.end(), o2.begin() + c * (H / 2) * (W / 2));
  }
  const std::vector<int>& fi = crowdpose_flip_index();
  for (bool flip : {false, true}) {
    const float* f4 = flip ? o4.data() : nullptr;
    const float* f2 = flip ? o2.data() : nullptr;
    const auto fast = decode(o4.data(), o2.data(), f4, f2, K, H, W, fi.data());
    detail::force_exact_topk() = true;
    const auto exact = decode(o4.data(), o2.data(), f4, f2, K, H, W, fi.data());
    detail::force_exact_topk() = false;
    check_same_people(fast, exact, flip ? "decode flip" : "decode");
    CHECK(!fast.empty());
  }
}
