// The head's deconvolution pair; design in deconv_pair.h.
#include "ops/deconv_pair.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "ops/pack.h"

namespace litepose::ops {

namespace {

size_t round16(size_t n) { return (n + 15) / 16 * 16; }

}  // namespace

DeconvPairParams deconv_pair_params(size_t in_h, size_t in_w, size_t ci_refined, size_t ci_raw, size_t co,
                                    float min, float max) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  DeconvPairParams p;
  p.refined = {in_h, in_w, ci_refined, co, false, -kInf, kInf};
  p.raw = {in_h, in_w, ci_raw, co, true, min, max};
  p.wino = {in_h, in_w, ci_refined, ci_raw, co, min, max};
  return p;
}

size_t deconv_wino_matrix_floats(size_t k, size_t co, size_t nr) { return (co + nr - 1) / nr * (k + 1) * nr; }

AlignedBuffer pack_deconv_wino_weights(const float* refined_packed, size_t ci0, const float* raw_packed,
                                       size_t ci1, size_t co, size_t nr) {
  // G of F(3, 2): rows xi' = 0..3 over taps a = 0, 1 (a = 0: the lower input)
  static const double G[4][2] = {{1, 0}, {0.5, 0.5}, {0.5, -0.5}, {0, 1}};
  const size_t K = ci0 + ci1, per = deconv_wino_matrix_floats(K, co, nr);
  AlignedBuffer out(64 * per);
  std::vector<float> nk(co * K);  // [co][K] for pack_gemm_weights
  for (int ph = 0; ph < 4; ++ph)
    for (int xi = 0; xi < 16; ++xi) {
      const int ya = xi / 4, xb = xi % 4;
      for (int part = 0; part < 2; ++part) {
        const float* w = part == 0 ? refined_packed : raw_packed;
        const size_t ci = part == 0 ? ci0 : ci1, k0 = part == 0 ? 0 : ci0;
        for (size_t i = 0; i < ci; ++i)
          for (size_t o = 0; o < co; ++o) {
            double u = 0;
            for (int a = 0; a < 2; ++a)
              for (int b = 0; b < 2; ++b) {
                // tap (ty, tx) = (1 - a, 1 - b): the lower input row/column
                // of a phase is its tap 1 (kernels.h)
                const size_t tap = static_cast<size_t>((1 - a) * 2 + (1 - b));
                u += G[ya][a] * G[xb][b] * w[((static_cast<size_t>(ph) * 4 + tap) * ci + i) * co + o];
              }
            nk[o * K + k0 + i] = static_cast<float>(u);
          }
      }
      AlignedBuffer m = pack_gemm_weights(nk.data(), nullptr, co, K, nr);
      std::copy(m.data(), m.data() + per, out.data() + static_cast<size_t>(ph * 16 + xi) * per);
    }
  return out;
}

size_t deconv_wino_batch(const DeconvPairParams& p) {
  // enough tile rows per GEMM for 32+ GEMM rows (a row with few tiles
  // fills the GEMM kernel's row tiles badly: 10 tiles = 8 + 2), at most 4,
  // and the transformed data of a pass within ~768 KB (L2)
  const size_t nt = kernels::deconv_wino_tiles(p.wino.in_w), K = p.wino.ci0 + p.wino.ci1;
  const size_t per_row = 16 * nt * (K + p.wino.co) * sizeof(float);
  size_t b = std::min<size_t>(4, (32 + nt - 1) / nt);
  while (b > 1 && b * per_row > 768 * 1024) --b;
  return b;
}

size_t deconv_pair_scratch_floats(const DeconvPairParams& p) {
  const size_t nt = kernels::deconv_wino_tiles(p.wino.in_w), K = p.wino.ci0 + p.wino.ci1;
  const size_t b = deconv_wino_batch(p);
  return round16(16 * b * nt * K) + round16(16 * b * nt * p.wino.co) + round16(std::max(p.wino.ci0, p.wino.ci1)) +
         round16(p.wino.co);
}

void deconv_pair_direct(const KernelSet& ks, const DeconvPairParams& p, const DeconvPairWeights& w,
                        const float* refined, const float* raw, float* out, size_t oy0, size_t oy1) {
  if (oy1 <= oy0) return;
  ks.deconv(p.refined, refined, w.refined_w, w.bias, out, oy0, oy1);
  ks.deconv(p.raw, raw, w.raw_w, nullptr, out, oy0, oy1);
}

void deconv_pair_groups(const KernelSet& ks, const DeconvPairParams& p, const DeconvPairWeights& w,
                        const float* refined, const float* raw, float* out, size_t g0, size_t g1, int ph0, int ph1,
                        size_t oy0, size_t oy1, float* scratch) {
  if (g1 <= g0) return;
  constexpr size_t G = kDeconvWinoRows;
  const kernels::DeconvWinoParams& q = p.wino;
  const size_t nt = kernels::deconv_wino_tiles(q.in_w), K = q.ci0 + q.ci1, co = q.co;
  const size_t per = deconv_wino_matrix_floats(K, co, ks.gemm_nr), batch = deconv_wino_batch(p);
  float* v = scratch;
  float* m = v + round16(16 * batch * nt * K);
  float* zeros = m + round16(16 * batch * nt * co);
  float* sink = zeros + round16(std::max(q.ci0, q.ci1));
  std::fill(zeros, zeros + std::max(q.ci0, q.ci1), 0.f);
  constexpr float kInf = std::numeric_limits<float>::infinity();
  // per phase, whole tile rows, up to `batch` of them in one GEMM per
  // position (tried: passes of 8-32 tiles, no faster); v [row][tile][xi][K],
  // so the GEMM of position xi reads rows 16 K apart; m [xi][row][tile][co].
  // A GEMM row's result does not depend on the rows around it, so batching
  // changes no bits.
  for (size_t gb = g0; gb < g1; gb += batch * G) {
    const size_t nb = std::min(batch, (g1 - gb) / G), rows = nb * nt;
    for (int ph = ph0; ph < ph1; ++ph) {
      for (size_t i = 0; i < nb; ++i)
        ks.deconv_wino_in(q, refined, raw, zeros, ph, static_cast<long>((gb + i * G) / 2), 0, nt,
                          v + i * nt * 16 * K);
      for (size_t xi = 0; xi < 16; ++xi)
        ks.gemm(rows, co, K, v + xi * K, 16 * K, w.wino + (static_cast<size_t>(ph) * 16 + xi) * per,
                m + xi * rows * co, co, nullptr, 0, -kInf, kInf);
      for (size_t i = 0; i < nb; ++i)
        ks.deconv_wino_out(q, m + i * nt * co, rows * co, w.bias, ph, static_cast<long>((gb + i * G) / 2), 0, nt, oy0,
                           oy1, out, sink);
    }
  }
}

void deconv_pair_rows(const KernelSet& ks, const DeconvPairParams& p, const DeconvPairWeights& w,
                      const float* refined, const float* raw, float* out, size_t oy0, size_t oy1, float* scratch) {
  if (!w.wino || !ks.deconv_wino_in) return deconv_pair_direct(ks, p, w, refined, raw, out, oy0, oy1);
  // Row y runs through Winograd iff its group [6k, 6k + 6) lies inside the
  // image, whatever range it is asked for in (a group the range only
  // touches is computed whole, its other rows not stored), so every
  // row's value is the same for any split into ranges: thread counts and
  // the fused tail's bands give the same bits.
  constexpr size_t G = kDeconvWinoRows;
  const size_t full_end = deconv_wino_full_rows(p);
  const size_t g0 = oy0 / G * G, g1 = std::min(full_end, (oy1 + G - 1) / G * G);
  deconv_pair_groups(ks, p, w, refined, raw, out, g0, g1, 0, 4, oy0, oy1, scratch);
  deconv_pair_direct(ks, p, w, refined, raw, out, std::max(oy0, full_end), oy1);
}

}  // namespace litepose::ops
