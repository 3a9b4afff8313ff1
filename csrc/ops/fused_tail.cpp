// Fused head tail; design in fused_tail.h.
//
// One band of output rows [y0, y1), dw_r of kernel k (pad k/2; with
// r_given the window is absent and dw_r reads r itself):
//
//   window (scratch): rows [wbase, w1) of r     the band reads r rows
//   +----------------------------+               [y0 - pad, y1 + pad)
//   | kept from the last band    |   <- clipped to [0, H); rows it lacks
//   | new rows: deconv pair      |      are produced by the deconv pair,
//   |                            |      up to a Winograd group boundary
//   +----------------------------+
//   | slack, 1 row prefetch pad  |
//   +----------------------------+
//   | t: band x W x max(C, Cs)   |   dw_r output, then pw_r -> o rows;
//   +----------------------------+   dw_s output, then pw_s adds to them
//   | o: band x W x N            |   -> transposed into the NCHW output
//   +----------------------------+
#include "ops/fused_tail.h"

#include "ops/ops.h"

#include <algorithm>
#include <chrono>
#include <limits>

namespace litepose::ops {

namespace {

size_t round16(size_t n) { return (n + 15) / 16 * 16; }

// band + halo + slack, the slack at least one Winograd group: the
// deconvolution rows are produced up to a group boundary (below)
size_t window_rows(const FusedTailParams& p, const FusedTailTiling& t) {
  return t.band_rows + 2 * static_cast<size_t>(p.dw_r.pad) + std::max(t.slack_rows, kDeconvWinoRows);
}

}  // namespace

FusedTailTiling fused_tail_tiling(const FusedTailParams& p, int threads, size_t chunks_per_thread) {
  FusedTailTiling t;
  const size_t H = p.dw_r.out_h;
  // chunks start on Winograd group boundaries (fused_tail): at most one
  // per whole group, so none is empty
  const size_t bands = (H + t.band_rows - 1) / t.band_rows, groups = H / kDeconvWinoRows;
  const size_t want = static_cast<size_t>(std::max(1, threads)) * std::max<size_t>(1, chunks_per_thread);
  t.chunks = std::max<size_t>(1, std::min({want, bands, groups}));
  return t;
}

size_t fused_tail_scratch_floats(const FusedTailParams& p, const FusedTailTiling& t) {
  const size_t W = p.dw_r.in_w;
  return (p.r_given ? 0 : round16((window_rows(p, t) + 1) * W * p.dw_r.channels)) +
         round16(t.band_rows * W * std::max(p.dw_r.channels, p.dw_s.channels)) + round16(t.band_rows * W * p.n) +
         (p.r_given ? 0 : deconv_pair_scratch_floats(p.deconv));
}

void fused_tail(const KernelSet& ks, ThreadPool& pool, const FusedTailParams& p, const FusedTailWeights& w,
                const FusedTailTiling& t, const float* ref, const float* raw, const float* skip,
                float* out_nchw, float* scratch, FusedIRTrace* trace) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  const size_t H = p.dw_r.out_h, W = p.dw_r.in_w, C = p.dw_r.channels, CS = p.dw_s.channels, N = p.n;
  const long pad = p.dw_r.pad, HL = static_cast<long>(H);
  const size_t row = W * C;
  const size_t cap = window_rows(p, t);
  const size_t per_thread = fused_tail_scratch_floats(p, t);
  const size_t win_floats = p.r_given ? 0 : round16((cap + 1) * row);
  const size_t chunks = t.chunks;
  if (trace) trace->spans.assign(static_cast<size_t>(pool.num_threads()), {});

  RowWindows windows(pool.num_threads());
  auto run_chunk = [&](size_t c, int thread) {
    // chunk boundaries on Winograd group boundaries (even rows: the
    // depthwise kernels' row pairs)
    constexpr size_t G = kDeconvWinoRows;
    const size_t c0 = H / G * c / chunks * G, c1 = c + 1 == chunks ? H : H / G * (c + 1) / chunks * G;
    float* win = scratch + static_cast<size_t>(thread) * per_thread;
    float* tb = win + win_floats;
    float* ob = tb + round16(t.band_rows * W * std::max(C, CS));
    float* dscratch = ob + round16(t.band_rows * W * N);  // deconv_pair_rows (not when r_given)
    std::vector<FusedIRTrace::Span>* spans = trace ? &trace->spans[static_cast<size_t>(thread)] : nullptr;
    auto stamp = [&](int part, std::chrono::steady_clock::time_point& t0) {
      if (!spans) return;
      const auto t1 = std::chrono::steady_clock::now();
      if (part >= 0) spans->push_back({part, t0, t1});
      t0 = t1;
    };
    RowWindow& st = windows[thread];
    bool fresh = st.start_chunk(c0, c1);
    for (size_t y0 = c0; y0 < c1; y0 += t.band_rows) {
      const size_t y1 = std::min(c1, y0 + t.band_rows);
      const long lo = std::max<long>(0, static_cast<long>(y0) - pad);
      const long hi = std::min<long>(HL, static_cast<long>(y1) + pad);
      std::chrono::steady_clock::time_point t0;
      stamp(-1, t0);
      const float* r = ref;  // row y of r at r + y * row
      if (!p.r_given) {
        // produce up to a Winograd group boundary: the next band's rows
        // then start a whole group (the window's slack holds them)
        const long GL = static_cast<long>(G), hg = std::min<long>(HL, (hi + GL - 1) / GL * GL);
        const long w1 = st.make_room(win, row, cap, lo, hg, fresh);
        fresh = false;
        float* rw = win - static_cast<size_t>(st.wbase) * row;
        r = rw;
        if (hi > w1) {
          deconv_pair_rows(ks, p.deconv, w.deconv, ref, raw, rw, static_cast<size_t>(w1), static_cast<size_t>(hg),
                           dscratch);
          stamp(0, t0);
          st.w1 = hg;
        }
      }
      float* o = ob;  // rows [y0, y1) of the NHWC result
      const size_t m = (y1 - y0) * W;
      ks.dwconv(p.dw_r, r, w.dw_r_w, w.dw_r_b, tb - y0 * row, y0, y1);
      stamp(2, t0);
      ks.gemm(m, N, C, tb, C, w.pw_r, o, N, nullptr, N, -kInf, kInf);
      stamp(3, t0);
      ks.dwconv(p.dw_s, skip, w.dw_s_w, w.dw_s_b, tb - y0 * W * CS, y0, y1);
      stamp(4, t0);
      ks.gemm(m, N, CS, tb, CS, w.pw_s, o, N, o, N, -kInf, kInf);
      stamp(5, t0);
      nhwc_to_nchw_pixels(o - y0 * W * N, H * W, N, out_nchw, y0 * W, y1 * W);
      stamp(6, t0);
    }
  };

  if (chunks == 1 && !pool.tracing()) {
    run_chunk(0, 0);
    return;
  }
  pool.parallel_for(chunks, [&](size_t c, int thread) { run_chunk(c, thread); });
}

}  // namespace litepose::ops
