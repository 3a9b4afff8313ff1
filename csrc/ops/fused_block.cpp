// Fused inverted residual block; design in fused_block.h.
//
// Window of one task (stride 1, k = 7, band of 2 output rows):
//
//   window rows (scratch)          band oy0..oy0+1 reads rows oy0-3 .. oy0+4
//   +---------------------+ wbase
//   | halo kept (k-s = 6) |   <- expanded by earlier bands
//   | new rows (B*s = 2)  |   <- expand GEMM of this band
//   +---------------------+ w1
//   | slack / free        |   when a band's rows would pass the end, the
//   +---------------------+   halo is moved to the start (memmove)
//   | stride rows of pad  |   the depthwise kernel prefetches up to `stride`
//   +---------------------+   rows past the band's last row (never reads)
//   | band output [B][out_w][hidden]  (project GEMM input)
//
// The depthwise kernel is given `in = window - wbase*row` and the full
// image height: for output rows [oy0, oy1) it reads only input rows
// [max(0, oy0*s-pad), min(in_h, (oy1-1)*s-pad+k)), all inside the window
// (kernels.h contract; every ISA clips kernel rows to [0, in_h)).
#include "ops/fused_block.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>

namespace litepose::ops {

namespace {

size_t round16(size_t n) { return (n + 15) / 16 * 16; }

size_t window_need(const FusedIRParams& p, size_t band) {
  return (band - 1) * static_cast<size_t>(p.stride) + static_cast<size_t>(p.kernel);
}

}  // namespace

long RowWindow::make_room(float* win, size_t row_floats, size_t cap, long lo, long hi, bool fresh, WindowSlice slice) {
  if (fresh || lo >= w1) {
    wbase = w1 = lo;
  } else if (static_cast<size_t>(hi - wbase) > cap) {
    const size_t shift = static_cast<size_t>(lo - wbase) * row_floats, n = static_cast<size_t>(w1 - lo) * row_floats;
    if (slice.pixel_floats == 0) {
      std::memmove(win, win + shift, n * sizeof(float));
    } else {
      // pixel by pixel in increasing order: a pixel's source lies `shift`
      // floats above its destination, so no source is overwritten before
      // it is read
      for (size_t i = 0; i < n; i += slice.pixel_floats)
        std::memmove(win + i + slice.c0, win + shift + i + slice.c0, slice.cn * sizeof(float));
    }
    wbase = lo;
  }
  return w1;
}

FusedIRTiling fused_ir_tiling(const FusedIRParams& p, int threads, const FusedIRTuning& tu) {
  FusedIRTiling t;
  const size_t row = p.in_w * p.hidden, orow = p.out_w * p.hidden;
  const size_t budget = tu.cache_bytes / sizeof(float);
  size_t band = tu.band_rows;
  if (band == 0) {
    band = 2;  // the depthwise kernels' row pair
    while (band + 2 <= p.out_h && window_need(p, band + 2) * row + (band + 2) * orow <= budget)
      band += 2;
  }
  t.band_rows = std::max<size_t>(1, std::min(band, p.out_h));
  t.window_rows = std::min(window_need(p, t.band_rows), p.in_h) + tu.slack_rows;
  const size_t bands = (p.out_h + t.band_rows - 1) / t.band_rows;
  const size_t want = static_cast<size_t>(std::max(1, threads)) * std::max<size_t>(1, tu.chunks_per_thread);
  t.chunks = std::max<size_t>(1, std::min(want, bands));
  t.recompute = tu.recompute;
  return t;
}

size_t fused_ir_scratch_floats(const FusedIRParams& p, const FusedIRTiling& t) {
  const size_t row = p.in_w * p.hidden, orow = p.out_w * p.hidden;
  return round16((t.window_rows + static_cast<size_t>(p.stride)) * row) + round16(t.band_rows * orow);
}

void fused_inverted_residual(const KernelSet& ks, ThreadPool& pool, const FusedIRParams& p,
                             const FusedIRWeights& w, const FusedIRTiling& t, const float* in,
                             float* out, float* scratch, FusedIRTrace* trace) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  const size_t W = p.in_w, C = p.in_c, HID = p.hidden, OW = p.out_w, CO = p.out_c;
  const long H = static_cast<long>(p.in_h), S = p.stride, K = p.kernel, pad = p.kernel / 2;
  const size_t row = W * HID, orow = OW * HID;
  const size_t per_thread = fused_ir_scratch_floats(p, t);
  const size_t win_floats = round16((t.window_rows + static_cast<size_t>(S)) * row);
  const kernels::DwConvParams dp{p.in_h, W, HID, p.out_h, OW, p.kernel, p.stride, p.kernel / 2, 0.f, 6.f};
  const size_t chunks = t.chunks;
  if (trace) {
    trace->spans.assign(static_cast<size_t>(pool.num_threads()), {});
  }

  // Per-thread window state, kept from one chunk to the next: the pool
  // gives each thread a contiguous run of chunks in order, so a thread's
  // next chunk usually starts where its last one ended and its window (halo
  // included) carries on; only a chunk taken from another thread's run
  // (when that thread falls behind) starts a fresh window.
  RowWindows windows(pool.num_threads());
  auto run_chunk = [&](size_t c, int thread) {
    const size_t c0 = p.out_h * c / chunks, c1 = p.out_h * (c + 1) / chunks;
    float* win = scratch + static_cast<size_t>(thread) * per_thread;
    float* dwo = win + win_floats;
    std::vector<FusedIRTrace::Span>* spans = trace ? &trace->spans[static_cast<size_t>(thread)] : nullptr;
    auto now = [] { return std::chrono::steady_clock::now(); };
    RowWindow& st = windows[thread];
    bool fresh = st.start_chunk(c0, c1);
    for (size_t oy0 = c0; oy0 < c1; oy0 += t.band_rows) {
      const size_t oy1 = std::min(c1, oy0 + t.band_rows);
      const long lo = std::max<long>(0, static_cast<long>(oy0) * S - pad);
      const long hi = std::min<long>(H, static_cast<long>(oy1 - 1) * S - pad + K);
      std::chrono::steady_clock::time_point t0;
      if (spans) t0 = now();
      const long w1 = st.make_room(win, row, t.window_rows, lo, hi, fresh || t.recompute);
      const long wbase = st.wbase;
      fresh = false;
      if (hi > w1) {
        if (w.conv)  // the conv kernel writes output row y at out + y * row
          ks.conv(*w.conv, in, w.conv_w, w.conv_b, win - static_cast<size_t>(wbase) * row, static_cast<size_t>(w1),
                  static_cast<size_t>(hi));
        else
          ks.gemm(static_cast<size_t>(hi - w1) * W, HID, C, in + static_cast<size_t>(w1) * W * C, C, w.expand,
                  win + static_cast<size_t>(w1 - wbase) * row, HID, nullptr, HID, 0.f, 6.f);
        st.w1 = hi;
      }
      std::chrono::steady_clock::time_point t1;
      if (spans) {
        t1 = now();
        spans->push_back({0, t0, t1});
      }
      ks.dwconv(dp, win - static_cast<size_t>(wbase) * row, w.dw, w.dw_bias, dwo - oy0 * orow, oy0, oy1);
      std::chrono::steady_clock::time_point t2;
      if (spans) {
        t2 = now();
        spans->push_back({1, t1, t2});
      }
      ks.gemm((oy1 - oy0) * OW, CO, HID, dwo, HID, w.project, out + oy0 * OW * CO, CO,
              p.residual ? in + oy0 * OW * CO : nullptr, CO, -kInf, kInf);
      if (spans) spans->push_back({2, t2, now()});
    }
  };

  if (chunks == 1 && !pool.tracing()) {
    run_chunk(0, 0);
    return;
  }
  pool.parallel_for(chunks, [&](size_t c, int thread) { run_chunk(c, thread); });
}

FusedIRTiling fused_ir_split_tiling(const FusedIRParams& p, int threads, const FusedIRTuning& tu, size_t nr) {
  // the row tiling's window (so the scratch is the same), filled by bands
  // of as many output rows as it holds
  FusedIRTiling t = fused_ir_tiling(p, 1, tu);
  const size_t S = static_cast<size_t>(p.stride), K = static_cast<size_t>(p.kernel);
  t.band_rows = std::max<size_t>(1, std::min(p.out_h, t.window_rows >= K ? (t.window_rows - K) / S + 1 : 1));
  const size_t panels = (p.hidden + nr - 1) / nr;
  const size_t want = static_cast<size_t>(std::max(1, threads)) * std::max<size_t>(1, tu.chunks_per_thread);
  t.channel_groups = std::max<size_t>(1, std::min(panels, want));
  t.chunks = std::max<size_t>(1, std::min(want, p.out_h));
  return t;
}

void fused_ir_channel_split(const KernelSet& ks, ThreadPool& pool, const FusedIRParams& p, const FusedIRWeights& w,
                            const FusedIRTiling& t, const float* in, float* out, float* dwo, float* scratch,
                            FusedIRTrace* trace) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  const size_t W = p.in_w, C = p.in_c, HID = p.hidden, OW = p.out_w, CO = p.out_c;
  const long H = static_cast<long>(p.in_h), S = p.stride, K = p.kernel, pad = p.kernel / 2;
  const size_t row = W * HID, nr = ks.gemm_nr;
  const size_t per_thread = fused_ir_scratch_floats(p, t);
  const size_t panels = (HID + nr - 1) / nr, groups = std::max<size_t>(1, t.channel_groups);
  if (trace) trace->spans.assign(static_cast<size_t>(pool.num_threads()), {});
  auto now = [] { return std::chrono::steady_clock::now(); };
  auto span = [&](int thread, int part, std::chrono::steady_clock::time_point t0) {
    if (trace) trace->spans[static_cast<size_t>(thread)].push_back({part, t0, now()});
  };

  // pass 1: expand + depthwise of one slice of whole panels, all rows
  pool.parallel_for(groups, [&](size_t g, int thread) {
    const size_t c0 = std::min(HID, panels * g / groups * nr), c1 = std::min(HID, panels * (g + 1) / groups * nr);
    if (c1 <= c0) return;
    const size_t cn = c1 - c0;
    float* win = scratch + static_cast<size_t>(thread) * per_thread;
    kernels::DwConvParams dp{p.in_h, W, cn, p.out_h, OW, p.kernel, p.stride, p.kernel / 2, 0.f, 6.f};
    dp.pixel_stride = HID;
    const WindowSlice slice{HID, c0, cn};
    RowWindow st;
    for (size_t oy0 = 0; oy0 < p.out_h; oy0 += t.band_rows) {
      const size_t oy1 = std::min(p.out_h, oy0 + t.band_rows);
      const long lo = std::max<long>(0, static_cast<long>(oy0) * S - pad);
      const long hi = std::min<long>(H, static_cast<long>(oy1 - 1) * S - pad + K);
      std::chrono::steady_clock::time_point t0;
      if (trace) t0 = now();
      const long w1 = st.make_room(win, row, t.window_rows, lo, hi, oy0 == 0, slice);
      const long wbase = st.wbase;
      if (hi > w1) {
        ks.gemm(static_cast<size_t>(hi - w1) * W, cn, C, in + static_cast<size_t>(w1) * W * C, C,
                w.expand + c0 / nr * (C + 1) * nr, win + static_cast<size_t>(w1 - wbase) * row + c0, HID, nullptr,
                HID, 0.f, 6.f);
        st.w1 = hi;
      }
      std::chrono::steady_clock::time_point t1;
      if (trace) {
        span(thread, 0, t0);
        t1 = now();
      }
      ks.dwconv(dp, win - static_cast<size_t>(wbase) * row + c0, w.dw + c0, w.dw_bias + c0, dwo + c0, oy0, oy1);
      if (trace) span(thread, 1, t1);
    }
  });

  // pass 2: the project GEMM over row chunks
  const size_t chunks = std::max<size_t>(1, std::min(t.chunks, p.out_h));
  pool.parallel_for(chunks, [&](size_t c, int thread) {
    const size_t r0 = p.out_h * c / chunks, r1 = p.out_h * (c + 1) / chunks;
    if (r1 <= r0) return;
    std::chrono::steady_clock::time_point t0;
    if (trace) t0 = now();
    ks.gemm((r1 - r0) * OW, CO, HID, dwo + r0 * OW * HID, HID, w.project, out + r0 * OW * CO, CO,
            p.residual ? in + r0 * OW * CO : nullptr, CO, -kInf, kInf);
    span(thread, 2, t0);
  });
}

}  // namespace litepose::ops
