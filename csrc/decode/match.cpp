// Grouping of joint candidates into people: match_by_tag of the official
// lib/core/group.py, joint by joint in the official order.
//
// Why it looks like a dictionary walk: the official code keeps people in a
// Python dict keyed by the first tag value of the joint that founded them
// (insertion ordered).  A later founder with an equal tag value lands in the
// same entry, overwriting that joint and resetting the person's tag list.
// We keep people in insertion order and look keys up by float equality, so
// even that corner behaves the same.  Float semantics follow numpy: tags are
// float32, their means float32 (pairwise sum for D = 1, sequential for
// D = 2), distances and costs float64.
#include "decode/decode_internal.h"

#include <string>

namespace litepose {

namespace {

struct Group {
  float key;
  std::vector<double> joints;  // Kx(3+D), float64 like the official dict values
  std::vector<float> tags;     // NxD, the tag list
};

int find_key(const std::vector<Group>& people, float key) {
  for (size_t p = 0; p < people.size(); ++p)
    if (people[p].key == key) return static_cast<int>(p);
  return -1;
}

}  // namespace

std::vector<Person> match_by_tag(const Candidates& cand, const DecodeOptions& opt) {
  const int K = cand.k, M = cand.m, D = cand.d;
  if (K <= 0 || M < 0 || D <= 0)
    throw InputError("match_by_tag: expected K > 0, M >= 0, D > 0, got K=" + std::to_string(K) +
                     " M=" + std::to_string(M) + " D=" + std::to_string(D));
  const size_t km = static_cast<size_t>(K) * M;
  if (cand.val.size() != km || cand.x.size() != km || cand.y.size() != km ||
      cand.tag.size() != km * D)
    throw InputError("match_by_tag: candidate arrays must hold K*M (tags K*M*D) entries");
  const int row_len = 3 + D;
  const std::vector<int> order = joint_order(K);
  std::vector<Group> people;

  auto joint_row = [&](int j, int c, double* dst) {
    const size_t e = static_cast<size_t>(j) * M + c;
    dst[0] = cand.x[e];
    dst[1] = cand.y[e];
    dst[2] = cand.val[e];
    for (int d = 0; d < D; ++d) dst[3 + d] = cand.tag[e * D + d];
  };
  auto found = [&](int j, int c) {  // setdefault(key)[j] = joint; tag_dict[key] = [tag]
    const float* t = &cand.tag[(static_cast<size_t>(j) * M + c) * D];
    int p = find_key(people, t[0]);
    if (p < 0) {
      people.push_back(Group{t[0], std::vector<double>(static_cast<size_t>(K) * row_len, 0.0), {}});
      p = static_cast<int>(people.size()) - 1;
    }
    joint_row(j, c, &people[p].joints[static_cast<size_t>(j) * row_len]);
    people[p].tags.assign(t, t + D);
  };

  std::vector<int> rows;
  std::vector<float> means;
  std::vector<double> diff_saved, cost;
  for (int i = 0; i < K; ++i) {
    const int idx = order[i];
    rows.clear();
    for (int c = 0; c < M; ++c) {
      const size_t e = static_cast<size_t>(idx) * M + c;
      for (int d = 0; d < D; ++d)
        if (!std::isfinite(cand.tag[e * D + d]))
          throw InputError("match_by_tag: non-finite tag value for joint " + std::to_string(idx));
      if (static_cast<double>(cand.val[e]) > static_cast<double>(opt.detection_threshold))
        rows.push_back(c);
    }
    if (rows.empty()) continue;
    if (i == 0 || people.empty()) {
      for (int c : rows) found(idx, c);
      continue;
    }
    const int G = static_cast<int>(people.size()) < opt.max_num_people
                      ? static_cast<int>(people.size())
                      : opt.max_num_people;
    if (opt.ignore_too_much && G == opt.max_num_people) continue;
    // grouped_tags: np.mean(tag_dict[key], axis=0), float32.
    means.assign(static_cast<size_t>(G) * D, 0.f);
    for (int g = 0; g < G; ++g) {
      const std::vector<float>& tl = people[g].tags;
      const int n = static_cast<int>(tl.size()) / D;
      for (int d = 0; d < D; ++d) {
        float s;
        if (D == 1) {
          s = detail::np_pairwise_sum(tl.data(), n, 1);
        } else {
          s = 0.f;
          for (int q = 0; q < n; ++q) s += tl[static_cast<size_t>(q) * D + d];
        }
        means[static_cast<size_t>(g) * D + d] = s / static_cast<float>(n);
      }
    }
    const int R = static_cast<int>(rows.size());
    const int cols = R > G ? R : G;
    diff_saved.assign(static_cast<size_t>(R) * G, 0.0);
    cost.assign(static_cast<size_t>(R) * cols, 1e10);
    for (int r = 0; r < R; ++r) {
      const size_t e = static_cast<size_t>(idx) * M + rows[r];
      const double val = cand.val[e];
      for (int g = 0; g < G; ++g) {
        double ss = 0.0;
        for (int d = 0; d < D; ++d) {
          const double df = static_cast<double>(cand.tag[e * D + d]) -
                            static_cast<double>(means[static_cast<size_t>(g) * D + d]);
          ss = d == 0 ? df * df : ss + df * df;
        }
        const double dist = std::sqrt(ss);
        diff_saved[static_cast<size_t>(r) * G + g] = dist;
        cost[static_cast<size_t>(r) * cols + g] =
            opt.use_detection_val ? std::nearbyint(dist) * 100.0 - val : dist;
      }
    }
    // Official pads columns with 1e10 when R > G; munkres pads rows with 0.
    const std::vector<std::pair<int, int>> pairs = munkres_1_1_4(cost.data(), R, cols);
    // Keys of the grouped people are fixed before any new person is added.
    std::vector<int> grouped(G);
    for (int g = 0; g < G; ++g) grouped[g] = g;
    for (const auto& pc : pairs) {
      const int r = pc.first, col = pc.second;
      if (r < R && col < G &&
          diff_saved[static_cast<size_t>(r) * G + col] < static_cast<double>(opt.tag_threshold)) {
        Group& g = people[grouped[col]];
        joint_row(idx, rows[r], &g.joints[static_cast<size_t>(idx) * row_len]);
        const float* t = &cand.tag[(static_cast<size_t>(idx) * M + rows[r]) * D];
        g.tags.insert(g.tags.end(), t, t + D);
      } else {
        found(idx, rows[r]);
      }
    }
  }

  std::vector<Person> out(people.size());
  for (size_t p = 0; p < people.size(); ++p) {
    out[p].k = K;
    out[p].d = D;
    out[p].joints.resize(people[p].joints.size());
    for (size_t q = 0; q < people[p].joints.size(); ++q)
      out[p].joints[q] = static_cast<float>(people[p].joints[q]);
  }
  return out;
}

}  // namespace litepose
