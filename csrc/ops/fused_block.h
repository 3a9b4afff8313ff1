// Fused inverted residual block: expand (1x1, ReLU6) -> kxk depthwise
// (ReLU6) -> project (1x1, + residual), computed in bands of output rows so
// the expanded (hidden) tensor never leaves the cache.  The network's stem
// (3x3 stride-2 conv -> 3x3 depthwise -> 1x1) runs through the same code
// with the conv producing the hidden rows (FusedIRWeights::conv).
//
// Each output row band [oy0, oy1) needs the expanded input rows
//   [oy0*s - pad, (oy1-1)*s - pad + k)  (clipped to the image);
// they live in a per-thread row window.  The window slides down the image:
// a band expands only the rows it adds, the halo of k - s rows it shares
// with the previous band is kept (moved to the window's start when the
// window is full).  The band's depthwise output ([rows][out_w][hidden]) then
// feeds the project GEMM, which writes the block output directly.
//
// Exactness: the expand rows are the same GEMM rows the unfused layer
// computes, the depthwise kernel computes each output row from the same
// values, and every kernel's per-element summation order is independent of
// how rows are split (kernels.h), so fused == unfused bit for bit.
//
// Threads: the output rows are split into `chunks` contiguous ranges, one
// task each (several per thread, so that a slow thread's chunks can be
// taken by the others); a thread slides one window through the chunks it
// runs in a row, and a chunk that does not continue the thread's previous
// one (the first, or one taken from another thread) expands its halo again.  `in` and `out` must not alias: other chunks still read the
// input rows a chunk overwrites.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "ops/dispatch.h"
#include "ops/threadpool.h"

namespace litepose::ops {

// A per-thread window of consecutive rows [wbase, w1) of a tensor that a
// fused call produces band by band (the expanded rows of a block, the
// deconvolution rows of the head's tail), kept from one band to the next
// and from one of the thread's chunks to the next when the chunk continues
// the last one (`next`).
// Floats [c0, c0 + cn) of every pixel of pixel_floats (0: whole rows).
struct WindowSlice {
  size_t pixel_floats = 0, c0 = 0, cn = 0;
};

struct RowWindow {
  long wbase = 0, w1 = 0;  // the window holds rows [wbase, w1)
  size_t next = SIZE_MAX;  // first output row of the chunk that would continue it

  // Start a chunk of output rows [c0, c1); true when it does not continue
  // the window (the rows must be produced afresh).
  bool start_chunk(size_t c0, size_t c1) {
    if (c1 <= c0) return false;  // an empty chunk runs no band: the window carries on past it
    const bool fresh = next != c0;
    next = c1;
    return fresh;
  }
  // Before a band that reads rows [lo, hi): drop the rows when `fresh` or
  // when lo is past them; move the rows [lo, w1) that it keeps to the
  // window's start when hi would pass `cap` rows.  Returns the first row
  // the caller must produce: rows [ret, hi) go to win + (row - wbase) *
  // row_floats; the caller then sets w1 = hi.
  // `slice`: only those floats of each pixel are in use (the channel split
  // below): a move copies just them.
  long make_room(float* win, size_t row_floats, size_t cap, long lo, long hi, bool fresh,
                 WindowSlice slice = WindowSlice());
};

// RowWindow per pool thread, without allocation up to 16 threads.
class RowWindows {
 public:
  explicit RowWindows(int threads) : many_(threads > 16 ? static_cast<size_t>(threads) : 0) {}
  RowWindow& operator[](int thread) { return many_.empty() ? few_[thread] : many_[static_cast<size_t>(thread)]; }

 private:
  RowWindow few_[16];
  std::vector<RowWindow> many_;
};

struct FusedIRParams {
  size_t in_h, in_w, in_c;  // block input  [in_h][in_w][in_c]
  size_t hidden;            // expanded channels
  size_t out_h, out_w, out_c;  // block output [out_h][out_w][out_c]
  int kernel, stride;       // depthwise; padding kernel / 2
  bool residual;            // out += in (stride 1, in_c == out_c)
};

struct FusedIRWeights {
  const float* expand;   // packed GEMM weights, in_c -> hidden (with bias)
  const float* dw;       // packed depthwise weights [k*k][hidden]
  const float* dw_bias;  // [hidden]
  const float* project;  // packed GEMM weights, hidden -> out_c (with bias)
  // The stem instead: the hidden rows come from a kxk convolution of the
  // image `in` (conv->out_h x out_w x out_c == in_h x in_w x hidden) in
  // place of the expand GEMM; `expand` is then unused.
  const kernels::ConvParams* conv = nullptr;
  const float* conv_w = nullptr;  // packed conv weights
  const float* conv_b = nullptr;
};

// Band geometry.  window_rows >= (band_rows-1)*stride + kernel; rows beyond
// that are slack that lets the window slide several bands between moves.
struct FusedIRTiling {
  size_t band_rows = 2;
  size_t window_rows = 0;
  size_t chunks = 1;
  bool recompute = false;  // expand every band's rows afresh (no sliding)
  // > 0: split the hidden channels instead of the rows (fused_ir_channel_split)
  size_t channel_groups = 0;
};

// Knobs for choosing the tiling (tests and benchmarks; 0 = automatic).
struct FusedIRTuning {
  size_t cache_bytes = 768 * 1024;  // per-thread budget: live window rows + band output
  size_t band_rows = 0;
  // Rows of slack: the halo is moved once per slack_rows / (band*stride)
  // bands instead of every band (measured ~3% faster with 10 than with 0 on
  // Zen 4 and Sapphire Rapids, M at 448).
  size_t slack_rows = 10;
  // Chunks per thread: a thread's own chunks continue one window (no extra
  // halo), and 4 let the others take a slow thread's last chunks: 2 threads
  // after a 50 ms idle gap, 20 interleaved rounds, 1 -> 4 medians 1.07 / 1.01
  // / 1.05 / 1.02x faster (XS / S / M / L), with a busy process on one of
  // the two cores XS 1.11x (min 1.24x), M 1.00x (min 1.06x); 1 thread
  // unchanged (Zen 4 VM).
  size_t chunks_per_thread = 4;
  bool recompute = false;
};

FusedIRTiling fused_ir_tiling(const FusedIRParams& p, int threads, const FusedIRTuning& t);

// Floats of scratch one thread needs (window + band output + prefetch pad),
// a multiple of 16.
size_t fused_ir_scratch_floats(const FusedIRParams& p, const FusedIRTiling& t);

// Per-part timing of one fused call (profiling): part 0 expand, 1 depthwise,
// 2 project.  spans[thread] lists that thread's intervals.
struct FusedIRTrace {
  struct Span {
    int part;
    std::chrono::steady_clock::time_point start, end;
  };
  std::vector<std::vector<Span>> spans;  // per pool thread
};

// scratch: num_threads * fused_ir_scratch_floats(p, t) floats, 64-byte
// aligned.  trace: null, or filled with per-part spans (sized here).
void fused_inverted_residual(const KernelSet& ks, ThreadPool& pool, const FusedIRParams& p,
                             const FusedIRWeights& w, const FusedIRTiling& t, const float* in,
                             float* out, float* scratch, FusedIRTrace* trace);

// Channel split, for several threads on small maps, where the halo rows
// that split rows expand twice are a large share of the work (LitePose's
// stage 3 at 28 x 28 or 32 x 32 on 2 threads: 6 halo rows on 14-16 rows per
// thread, 37-43% more expand work).  Two passes:
//   1. channel_groups tasks, each a slice of whole GEMM panels of the hidden
//      channels (the last may be partial): it slides its own window down
//      the whole image (expand the slice's columns of the new rows, the
//      depthwise of the slice, DwConvParams::pixel_stride = hidden) and
//      writes the slice of the depthwise output `dwo` [out_h][out_w][hidden].
//      No row is expanded twice.
//   2. the project GEMM (+ residual) over row chunks of dwo.
// dwo makes one round trip through the cache hierarchy (out_h x out_w x
// hidden floats: 2.3 MB for S's stage 3), which the row bands avoid, so the
// network picks this only where the halo is large (network.cpp, plan()).
// Exactness: pass 1 computes every expanded and depthwise value as the
// unfused layers do (panels and channels are independent), pass 2 is the
// unfused project GEMM, so the result equals the unfused block bit for bit.
// t: fused_ir_split_tiling; scratch as for fused_inverted_residual.
FusedIRTiling fused_ir_split_tiling(const FusedIRParams& p, int threads, const FusedIRTuning& tu, size_t nr);
void fused_ir_channel_split(const KernelSet& ks, ThreadPool& pool, const FusedIRParams& p, const FusedIRWeights& w,
                            const FusedIRTiling& t, const float* in, float* out, float* dwo, float* scratch,
                            FusedIRTrace* trace);

}  // namespace litepose::ops
