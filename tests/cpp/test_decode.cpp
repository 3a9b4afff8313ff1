// Golden tests of the decoder steps on small literal maps.
//
// Why literal grids: each step of the official parser has tie and border
// rules that are easy to get subtly wrong; these cases pin them down with
// answers computed by hand or, where the rule is the library's internal
// order (torch.topk's heap, munkres 1.1.4's scan), with the answer that
// torch 2.13 / munkres 1.1.4 give, noted next to each case.
#include <cmath>
#include <vector>

#include "litepose/decode.h"
#include "testing.h"

using namespace litepose;

namespace {
std::vector<std::pair<int, int>> P(std::initializer_list<std::pair<int, int>> l) { return l; }
}  // namespace

// ------------------------------------------------------------- upsample2x
TEST(upsample2x_literal_2x2) {
  // Rows resized along W: [0 4] -> [0 1 3 4], [8 12] -> [8 9 11 12]; then H.
  const float in[4] = {0, 4,
                       8, 12};
  const float want[16] = {0, 1, 3, 4,
                          2, 3, 5, 6,
                          6, 7, 9, 10,
                          8, 9, 11, 12};
  float out[16];
  upsample2x(in, 1, 2, 2, out);
  for (int i = 0; i < 16; ++i) CHECK_NEAR(out[i], want[i], 0);
}

TEST(upsample2x_border_replicates_edge) {
  // 1x3 input: columns 0 and 5 of the output equal the edge values exactly.
  const float in[3] = {0.1f, 0.7f, -0.3f};
  float out[2 * 6];
  upsample2x(in, 1, 1, 3, out);
  CHECK_NEAR(out[0], 0.1f, 0);
  CHECK_NEAR(out[5], -0.3f, 1e-7);  // 0.75 v + 0.25 v
  for (int x = 0; x < 6; ++x) CHECK_NEAR(out[x], out[6 + x], 0);  // both rows equal
}

// -------------------------------------------------------------- nms_topk
namespace {
std::vector<float> zeros(int h, int w) { return std::vector<float>(static_cast<size_t>(h) * w, 0.f); }
}  // namespace

TEST(nms_ties_plateau_and_borders_follow_torch_topk) {
  // 48x48 zeros; equal peaks 0.5 at (5,5) (5,20) (20,5) (40,40), corners
  // (0,0) and (47,47) (windows clipped at the border), a 2-pixel plateau at
  // (30,10)-(30,11) (both kept: max-pool equals both), and 0.75 over 0.25.
  const int H = 48, W = 48;
  std::vector<float> d = zeros(H, W);
  const int pk[6][2] = {{5, 5}, {5, 20}, {20, 5}, {40, 40}, {0, 0}, {47, 47}};
  for (auto& p : pk) d[p[0] * W + p[1]] = 0.5f;
  d[30 * W + 10] = d[30 * W + 11] = 0.5f;
  d[10 * W + 30] = 0.75f;
  d[11 * W + 30] = 0.25f;  // suppressed by its neighbour
  float val[30];
  int idx[30];
  nms_topk(d.data(), H, W, 5, 30, val, idx);
  // torch.topk (2.13, CPU) order of the equal 0.5 values:
  const int want[9] = {510, 2303, 260, 965, 1960, 1450, 1451, 245, 0};
  const float wantv[9] = {0.75f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f};
  for (int i = 0; i < 9; ++i) {
    CHECK_MSG(idx[i] == want[i], "i=" << i << " idx=" << idx[i] << " want " << want[i]);
    CHECK_NEAR(val[i], wantv[i], 0);
  }
  CHECK_NEAR(val[9], 0.f, 0);  // the rest are suppressed / empty pixels
}

TEST(nms_empty_map_gives_zeros_in_torch_order) {
  std::vector<float> d = zeros(48, 48);
  float val[30];
  int idx[30];
  nms_topk(d.data(), 48, 48, 5, 30, val, idx);
  const int want[30] = {18, 22, 10, 16, 26, 8, 20, 4, 24, 12, 15, 28, 7, 17, 3,
                        19, 9, 21, 1, 23, 11, 25, 5, 27, 13, 0, 2, 6, 14, 29};
  for (int i = 0; i < 30; ++i) {
    CHECK_NEAR(val[i], 0.f, 0);
    CHECK_MSG(idx[i] == want[i], "i=" << i << " idx=" << idx[i]);
  }
}

TEST(nms_more_than_30_peaks_keeps_the_30_largest) {
  // 40 isolated peaks 0.20, 0.21, ... 0.59 on a 60x48 grid.
  const int H = 60, W = 48;
  std::vector<float> d = zeros(H, W);
  for (int n = 0; n < 40; ++n) d[((n / 8) * 12 + 2) * W + (n % 8) * 6 + 1] = 0.2f + 0.01f * n;
  float val[30];
  int idx[30];
  nms_topk(d.data(), H, W, 5, 30, val, idx);
  for (int i = 0; i < 30; ++i) {
    const int n = 39 - i;
    CHECK_MSG(idx[i] == ((n / 8) * 12 + 2) * W + (n % 8) * 6 + 1, "i=" << i);
    CHECK_NEAR(val[i], 0.2f + 0.01f * n, 0);
  }
}

TEST(nms_rejects_even_kernel) {
  std::vector<float> d = zeros(8, 8);
  float v[4];
  int i[4];
  CHECK_THROWS(nms_topk(d.data(), 8, 8, 4, 4, v, i));
}

// ---------------------------------------------------------------- munkres
namespace {
void check_munkres(const std::vector<std::vector<double>>& m, std::vector<std::pair<int, int>> want) {
  const int r = static_cast<int>(m.size()), c = static_cast<int>(m[0].size());
  std::vector<double> flat;
  for (auto& row : m) flat.insert(flat.end(), row.begin(), row.end());
  const auto got = munkres_1_1_4(flat.data(), r, c);
  CHECK_MSG(got == want, "munkres answer differs for a " << r << "x" << c << " matrix");
}
}  // namespace

TEST(munkres_all_ties_is_diagonal) {
  check_munkres({{0, 0, 0}, {0, 0, 0}, {0, 0, 0}}, P({{0, 0}, {1, 1}, {2, 2}}));
  check_munkres({{5, 5, 5, 5}, {5, 5, 5, 5}, {1, 1, 1, 1}}, P({{0, 0}, {1, 1}, {2, 2}}));
}

TEST(munkres_1_1_4_tie_breaking) {
  // Two optimal answers (cost -1.5 each); munkres 1.1.4 returns this one.
  check_munkres({{99.5, -0.5, -0.5}, {-0.5, 99.5, -0.5}, {-0.5, -0.5, 1e10}},
                P({{0, 2}, {1, 0}, {2, 1}}));
  // More rows padded by munkres (2x3), rounded-distance costs.
  check_munkres({{99.5, 99.4, -0.3}, {-0.5, -0.4, 99.1}}, P({{0, 2}, {1, 0}}));
  // Tie-heavy 4x5 matrices; answers of munkres 1.1.4 Munkres().compute.
  check_munkres({{199.5, -0.25, 99.5, -0.5, -0.5},
                 {-0.5, 99.75, 99.5, 199.75, 99.75},
                 {99.5, 199.75, 99.5, 199.5, -0.25},
                 {-0.25, -0.5, 99.5, 199.75, -0.5}},
                P({{0, 3}, {1, 0}, {2, 4}, {3, 1}}));
  check_munkres({{-0.25, 99.75, -0.25, 99.5, -0.25},
                 {199.75, 99.75, 99.75, 199.75, -0.25},
                 {-0.5, 199.75, -0.5, -0.5, 99.75},
                 {199.75, -0.5, 99.75, -0.5, -0.5}},
                P({{0, 0}, {1, 4}, {2, 2}, {3, 1}}));
  check_munkres({{-0.5, 199.75, 199.5, -0.5, 99.5},
                 {99.5, 199.75, -0.25, 99.75, 99.75},
                 {-0.5, 99.5, -0.25, 199.75, 199.5},
                 {-0.5, -0.25, 199.75, -0.25, -0.25}},
                P({{0, 3}, {1, 2}, {2, 0}, {3, 4}}));
}

TEST(munkres_empty) {
  CHECK(munkres_1_1_4(nullptr, 0, 3).empty());
}

// ----------------------------------------------------------- match_by_tag
namespace {
Candidates make_cands(int k, int m) {
  Candidates c;
  c.k = k, c.m = m, c.d = 1;
  c.val.assign(static_cast<size_t>(k) * m, 0.f);
  c.x.assign(c.val.size(), 0);
  c.y.assign(c.val.size(), 0);
  c.tag.assign(c.val.size(), 0.f);
  return c;
}
void put(Candidates& c, int j, int slot, int x, int y, float v, float t) {
  const size_t e = static_cast<size_t>(j) * c.m + slot;
  c.x[e] = x, c.y[e] = y, c.val[e] = v, c.tag[e] = t;
}
}  // namespace

TEST(match_two_people_by_tag) {
  // 14 joints, 2 slots: person A tags near 0, person B near 5.
  Candidates c = make_cands(14, 2);
  for (int j = 0; j < 14; ++j) {
    put(c, j, 0, 10 + j, 20, 0.9f, 5.1f);  // B listed first
    put(c, j, 1, 50 + j, 60, 0.8f, 0.2f);
  }
  const auto people = match_by_tag(c, DecodeOptions{});
  CHECK(people.size() == 2);
  // People keep the order they were founded in (joint 0: B then A).
  CHECK_NEAR(people[0].joint(13)[0], 23, 0);
  CHECK_NEAR(people[1].joint(13)[0], 63, 0);
  CHECK_NEAR(people[1].joint(5)[2], 0.8f, 0);
}

TEST(match_threshold_and_tag_distance) {
  Candidates c = make_cands(14, 2);
  put(c, 0, 0, 1, 1, 0.5f, 0.0f);
  put(c, 1, 0, 2, 2, 0.1f, 0.0f);   // not above the 0.1 threshold: dropped
  put(c, 2, 0, 3, 3, 0.5f, 1.2f);   // tag distance 1.2 >= 1.0: a new person
  put(c, 3, 0, 4, 4, 0.5f, 0.9f);   // distances 0.9 and 0.3: joins person 1
  put(c, 4, 0, 5, 5, 0.5f, -0.4f);  // distances 0.4 and 1.6: joins person 0
  const auto people = match_by_tag(c, DecodeOptions{});
  CHECK(people.size() == 2);
  CHECK_NEAR(people[0].joint(1)[2], 0, 0);
  CHECK_NEAR(people[1].joint(3)[0], 4, 0);
  CHECK_NEAR(people[1].joint(2)[0], 3, 0);
  CHECK_NEAR(people[0].joint(4)[0], 5, 0);
}

TEST(match_equal_tag_key_overwrites_like_the_official_dict) {
  // Two founders of joint 0 with the same tag value share one dict entry:
  // the second overwrites the first (official behaviour).
  Candidates c = make_cands(14, 2);
  put(c, 0, 0, 1, 1, 0.9f, 3.0f);
  put(c, 0, 1, 7, 7, 0.8f, 3.0f);
  const auto people = match_by_tag(c, DecodeOptions{});
  CHECK(people.size() == 1);
  CHECK_NEAR(people[0].joint(0)[0], 7, 0);
}

TEST(match_empty_candidates) {
  Candidates c = make_cands(14, 30);
  CHECK(match_by_tag(c, DecodeOptions{}).empty());
}

// ------------------------------------------------------------------ decode
TEST(decode_synthetic_two_people) {
  // K = 14, input 128x128: heat blobs for two people, tags 0 and 3.
  const int K = 14, H = 128, W = 128, h4 = H / 4, w4 = W / 4, h2 = H / 2, w2 = W / 2;
  std::vector<float> out4(static_cast<size_t>(2 * K) * h4 * w4, 0.f), out2(static_cast<size_t>(K) * h2 * w2, 0.f);
  auto blob = [](float* m, int h, int w, float cy, float cx, float s) {
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        const float v = std::exp(-((y - cy) * (y - cy) + (x - cx) * (x - cx)) / (2 * s * s));
        m[y * w + x] = std::max(m[y * w + x], v);
      }
  };
  for (int j = 0; j < K; ++j) {
    const float ya = 8 + 3 * j, xa = 12, yb = 10 + 3 * j, xb = 44;  // input/2 coords
    blob(&out2[static_cast<size_t>(j) * h2 * w2], h2, w2, ya, xa, 1.5f);
    blob(&out2[static_cast<size_t>(j) * h2 * w2], h2, w2, yb, xb, 1.5f);
    blob(&out4[static_cast<size_t>(j) * h4 * w4], h4, w4, ya / 2, xa / 2, 0.75f);
    blob(&out4[static_cast<size_t>(j) * h4 * w4], h4, w4, yb / 2, xb / 2, 0.75f);
    float* t = &out4[static_cast<size_t>(K + j) * h4 * w4];
    for (int y = 0; y < h4; ++y)
      for (int x = 0; x < w4; ++x) t[y * w4 + x] = x < w4 / 2 ? 0.f : 3.f;
  }
  const auto people = decode(out4.data(), out2.data(), nullptr, nullptr, K, H, W, nullptr);
  CHECK(people.size() == 2);
  for (const auto& p : people) {
    const bool left = p.joint(0)[0] < W / 2;
    for (int j = 0; j < K; ++j) {
      const float want_x = left ? 2 * 12 + 0.5f : 2 * 44 + 0.5f;
      CHECK_NEAR(p.joint(j)[0], want_x, 1.0);
      CHECK(p.joint(j)[2] > 0.1f);
    }
    CHECK(p.score > 0.5f);
  }
}

TEST(decode_empty_maps_give_no_people) {
  const int K = 14, H = 64, W = 64;
  std::vector<float> out4(static_cast<size_t>(2 * K) * 16 * 16, 0.f), out2(static_cast<size_t>(K) * 32 * 32, 0.f);
  CHECK(decode(out4.data(), out2.data(), nullptr, nullptr, K, H, W, nullptr).empty());
  // Flip test needs a flip index.
  CHECK_THROWS(decode(out4.data(), out2.data(), out4.data(), out2.data(), K, H, W, nullptr));
  CHECK(decode(out4.data(), out2.data(), out4.data(), out2.data(), K, H, W,
               crowdpose_flip_index().data()).empty());
  CHECK_THROWS(decode(out4.data(), out2.data(), nullptr, nullptr, K, 62, W, nullptr));
}

// ---------------------------------------------------------------- tables
TEST(dataset_tables) {
  CHECK(crowdpose_flip_index().size() == 14);
  CHECK(coco_flip_index().size() == 17);
  CHECK(flip_index_for("crowd_pose", 14)[0] == 1);
  CHECK_THROWS(flip_index_for("coco", 14));
  CHECK_THROWS(flip_index_for("mpii", 16));
  const std::vector<int> o = joint_order(14);
  const std::vector<int> want = {0, 1, 2, 3, 4, 5, 6, 11, 12, 7, 8, 9, 10, 13};
  CHECK(o == want);
}

TEST(transform_people_applies_affine) {
  Person p;
  p.k = 1, p.d = 1;
  p.joints = {10.f, 20.f, 0.5f, 0.f};
  std::vector<Person> v = {p};
  Affine t;
  const double m[6] = {2, 0, 1, 0, 3, -1};
  for (int i = 0; i < 6; ++i) t.m[i] = m[i];
  transform_people(v, t);
  CHECK_NEAR(v[0].joints[0], 21, 0);
  CHECK_NEAR(v[0].joints[1], 59, 0);
  CHECK_NEAR(v[0].joints[2], 0.5f, 0);
}

// Regression (found by tests/fuzz/fuzz_decode.cpp): an 11-joint model made
// match_by_tag index joints 11 and 12 through the official joint order.
TEST(joint_order_is_a_permutation_for_every_joint_count) {
  for (int k = 1; k <= 20; ++k) {
    auto o = litepose::joint_order(k);
    std::vector<int> seen(k, 0);
    bool ok = static_cast<int>(o.size()) == k;
    for (int j : o) ok = ok && j >= 0 && j < k && !seen[j]++;
    CHECK_MSG(ok, "k=" << k);
  }
  auto o14 = litepose::joint_order(14);
  CHECK((o14 == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 11, 12, 7, 8, 9, 10, 13}));
}

TEST(decode_small_joint_count_fast_path_fuzz_regression) {
  const int k = 11, h = 8, w = 8;
  std::vector<float> o4(2 * k * (h / 4) * (w / 4)), o2(k * (h / 2) * (w / 2));
  for (size_t i = 0; i < o4.size(); ++i) o4[i] = static_cast<float>((i * 37) % 11) * 0.1f;
  for (size_t i = 0; i < o2.size(); ++i) o2[i] = static_cast<float>((i * 13) % 7) * 0.2f;
  std::vector<int> flip(k);
  for (int j = 0; j < k; ++j) flip[j] = k - 1 - j;
  litepose::DecodeOptions opt;
  opt.max_num_people = 14;
  for (bool fast : {false, true}) {
    opt.project_to_input = !fast;
    auto people = litepose::decode(o4.data(), o2.data(), o4.data(), o2.data(), k, h, w, flip.data(), opt);
    CHECK(people.size() <= static_cast<size_t>(k) * 14);
  }
}
