// f32_dwconv_kxk__avx512f: kxk depthwise convolution over NHWC, AVX-512F.
//
// Design
//   Vectorised over channels (16 per zmm, the last block masked: any channel
//   count works and nothing past a pixel's C channels is read or written).
//   Work unit: R output rows x T = 4 output pixels x 16 channels, R = 3 at
//   stride 1 and 2 at stride 2.  Each input row segment the unit needs
//   ((T - 1)*S + K pixels) is loaded into registers once and feeds every
//   (output row, output pixel, kx) that uses it: kernel row ky of the first
//   output row, ky - S of the second, ky - 2S of the third.
//
//     K = 7, S = 1, input row u (shared by output rows q = 0 and 1):
//       x0 x1 ... x9                      10 zmm, loaded once per row u
//       q = 0, ky = u:    for kx: w = W[u][kx]      (1 zmm)
//                           acc0[t] += x[t + kx] * w   t = 0..3
//       q = 1, ky = u-1:  for kx: w = W[u-1][kx]
//                           acc1[t] += x[t + kx] * w
//     q = 2, ky = u-2:  likewise (R = 3)
//     registers: 12 acc + 10 x + 1-2 w = 24 of 32 (no spills; T = 4 was
//     measured faster than 6, 8 or 10, whose inputs spill, see
//     benchmarks/bench_kernels).  Per row u: 10 + 21 loads for 84 FMAs.
//     Three rows instead of two: each input row is loaded for 3 output rows
//     (9 row loads per 3 output rows instead of 12): k7 s1, ab_dwconv
//     (interleaved, 21 rounds, min new/old) 0.56-0.73 on the inputs larger
//     than L2, 0.87-0.97 in cache (16x16x480 .. 32x32x960), same bits; at
//     stride 2 three rows measured 1.04-1.24x slower (13 inputs + 12
//     accumulators), so stride 2 keeps pairs.  A row range never ends on a
//     single row when it can help it: n = 3m + 1 rows run as 3s, then 2 + 2.
//   K = 7, S = 2: 13 inputs per row segment, 5 of 7 rows shared.  Any image
//   size and the K = 3/5 head/stem layers use the same code.
//
//   Kernel rows outside the image are skipped (ky range per output row).
//   Blocks that touch the left/right border or the row end run the same FMA
//   schedule with the out-of-image input columns loaded under an all-zero
//   lane mask (no memory touched, no padded copy, the tap adds exactly 0).
//   At stride 1 the first and last whole block of a row (K/2 columns
//   outside the image when the width is a multiple of T, as in every
//   LitePose layer) instead skip those columns' loads and FMAs at compile
//   time: 1/8 of a 16-wide row's FMAs, 1/16 of a 32-wide one's.  With
//   block() and dispatch_block() forced inline into run() (a call per block
//   before), litepose profile, 1 thread, per-stage sums of layer minimums
//   over 4-5 alternating processes: XS 16x16 k7 layers 1.21x, 32x32 1.13x,
//   64x64 (fused) 1.07x faster, L 32x32 1.10-1.13x, 64x64 1.06x, 128x128
//   1.03x; stride 2 unchanged.  Only whole-channel blocks of 2 or 3 rows
//   get the left/right variants: with all of them inlined (24 block
//   variants per K/S) the other layers of L (GEMMs, deconvolutions) ran
//   0.5-2% slower, within +-0.5% with the 16 kept.  At stride 1 an edge block
//   addresses its columns as the interior does (base + j*C, the base maybe
//   left of the row: masked-off lanes never touch memory); that measured
//   0.87-0.97x the time of per-column offsets on the stride-1 shapes
//   (ab_dwconv, 21 rounds, min; 16x16x480 k7 0.91), while at stride 2 it
//   measured 1.25-1.34x slower, so stride 2 keeps the offsets.  The input rows the next row
//   pair will add are prefetched into L2 during this pair.  Fast paths: K in
//   {3, 5, 7} x S in {1, 2}; other K/S take a per-pixel path.
//   Loop order: row pair > channel block > x blocks, so a block's K*K
//   weight vectors stay in L1 while the rows are swept; 32-48 channels:
//   row pair > x blocks > channel block (run_columns).
// Contract: kernels.h (DwConvFn); computes output rows [oy0, oy1) only.
#include "kernels/avx512-common.h"

#include <algorithm>

#include "kernels/f32-dwconv/f32-dwconv.h"

namespace litepose::kernels {

namespace {

// Bytes of input rows a channel group may keep live in L2 (of 1 MB on
// Zen 4, 1-2 MB on recent Intel), leaving room for outputs and prefetches.
constexpr size_t kL2Budget = 256 * 1024;
// Layers with this many channels run in columns order (run_columns).
constexpr size_t kColumnsMinC = 32, kColumnsMaxC = 48;


struct RowCtx {
  const float* in;    // input at (row 0, col 0, channel c0)
  const float* w;     // weights at (tap 0, channel c0)
  float* out;         // output at (first output row, col 0, channel c0)
  size_t C, W;        // floats per pixel (dw_pixel_stride), input width
  size_t ostride;     // floats per output row
  long ix_origin;     // input column of output column 0, tap 0: -pad
  int ky0[3], ky1[3]; // valid kernel rows of each output row of the group
  long iy_base;       // input row of ky = 0 for the first output row
  const float* pf;    // first input row the next row group adds (or null)
  int npf;            // how many rows from pf to prefetch
  __mmask16 mk;
  __m512 bias, vmin, vmax;
};

// R (1 to 3) output rows x T output pixels starting at output column x0.
// Each input row is loaded once and feeds both output rows (kernel row ky
// for the first, ky - S for the second).  EDGE: the block touches the
// left/right border or the row end (tb < T).  Input columns outside the
// image get an all-zero lane mask: the masked load touches no memory and
// yields zeros, so the block keeps the interior's branch-free schedule; only
// the tb valid outputs are stored.
// LZ / RZ (interior addressing only): this many of the block's input
// columns at the left / right lie outside the image, known at compile time
// (the first and last whole block of a stride-1 row): their loads and the
// FMAs that would add their zeros are left out.
template <int K, int S, int T, int R, bool EDGE, bool FULL, int LZ = 0, int RZ = 0>
__attribute__((always_inline)) inline void block(const RowCtx& r, long x0, int tb) {
  // input columns the T outputs read: (T - 1) * S + K (no more: at stride 2
  // one more column would lie past the last tap, past the row's end at the
  // right border)
  constexpr int NX = (T - 1) * S + K;
  __m512 acc[R][T];
#pragma GCC unroll 3
  for (int q = 0; q < R; ++q)
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) acc[q][t] = r.bias;
  const long ix0 = x0 * S + r.ix_origin;
  __mmask16 mj[EDGE ? NX : 1];
  size_t off[EDGE ? NX : 1];
  if constexpr (EDGE) {
    const long last = (tb - 1) * S + K - 1;  // inputs past this feed no stored output
#pragma GCC unroll 32
    for (int j = 0; j < NX; ++j) {
      const long ix = ix0 + j;
      const bool ok = ix >= 0 && ix < static_cast<long>(r.W) && j <= last;
      mj[j] = ok ? r.mk : static_cast<__mmask16>(0);
      off[j] = ok ? static_cast<size_t>(ix) * r.C : 0;
    }
  }
  if (r.pf) {
    // Pull the input rows the next row group adds into L2 while this group
    // computes (a layer's input is usually far larger than L2).
    for (int s = 0; s < r.npf; ++s)
#pragma GCC unroll 32
      for (int j = 0; j < T * S; ++j) {
        const long ix = std::min<long>(std::max<long>(ix0 + j, 0), static_cast<long>(r.W) - 1);
        _mm_prefetch(reinterpret_cast<const char*>(r.pf + (s * r.W + static_cast<size_t>(ix)) * r.C), _MM_HINT_T1);
      }
  }
  const int u0 = r.ky0[0], u1 = r.ky1[R - 1] + (R - 1) * S;
  for (int u = u0; u < u1; ++u) {
    const float* row = r.in + static_cast<size_t>(r.iy_base + u) * r.W * r.C;
    __m512 x[NX];
    if constexpr (EDGE && S == 1) {
      const float* xp = row + static_cast<ptrdiff_t>(ix0) * static_cast<ptrdiff_t>(r.C);
#pragma GCC unroll 32
      for (int j = 0; j < NX; ++j) x[j] = _mm512_maskz_loadu_ps(mj[j], xp + static_cast<ptrdiff_t>(j) * static_cast<ptrdiff_t>(r.C));
    } else if constexpr (EDGE) {
#pragma GCC unroll 32
      for (int j = 0; j < NX; ++j) x[j] = _mm512_maskz_loadu_ps(mj[j], row + off[j]);
    } else {
      const float* xp = row + static_cast<ptrdiff_t>(ix0) * static_cast<ptrdiff_t>(r.C);
#pragma GCC unroll 32
      for (int j = LZ; j < NX - RZ; ++j) {
        const float* p = xp + static_cast<ptrdiff_t>(j) * static_cast<ptrdiff_t>(r.C);
        x[j] = FULL ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(r.mk, p);
      }
    }
#pragma GCC unroll 3
    for (int q = 0; q < R; ++q) {
      const int ky = u - q * S;
      if (ky < r.ky0[q] || ky >= r.ky1[q]) continue;
      const float* wrow = r.w + static_cast<size_t>(ky * K) * r.C;
#pragma GCC unroll 8
      for (int kx = 0; kx < K; ++kx) {
        const float* wp = wrow + static_cast<size_t>(kx) * r.C;
        const __m512 wv = FULL ? _mm512_loadu_ps(wp) : _mm512_maskz_loadu_ps(r.mk, wp);
#pragma GCC unroll 16
        for (int t = 0; t < T; ++t) {
          if (t * S + kx < LZ || t * S + kx >= NX - RZ) continue;  // a zero column
          acc[q][t] = _mm512_fmadd_ps(x[t * S + kx], wv, acc[q][t]);
        }
      }
    }
  }
#pragma GCC unroll 3
  for (int q = 0; q < R; ++q)
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      if (EDGE && t >= tb) break;
      const __m512 v = _mm512_min_ps(_mm512_max_ps(acc[q][t], r.vmin), r.vmax);
      float* op = r.out + q * r.ostride + static_cast<size_t>(x0 + t) * r.C;
      if (FULL) _mm512_storeu_ps(op, v);
      else _mm512_mask_storeu_ps(op, r.mk, v);
    }
}

// Output rows in the next group of run() when `left` rows remain: 3 at
// stride 1 with T = 4 (K = 5, 7; K = 3's T = 8 has no registers for a
// third row), never leaving one row alone when pairs avoid it (4 = 2 + 2);
// otherwise pairs.
template <int S, int T>
inline int group_rows(size_t left) {
  constexpr bool triples = S == 1 && T == 4;
  if (left >= 2 && (!triples || left == 2 || left == 4)) return 2;
  return left >= 3 ? 3 : 1;
}

// What a block of T output pixels touches: all inside the image, the first
// or last whole block of a stride-1 row with exactly K/2 columns outside
// (those columns are skipped at compile time), or any other border block
// (masked loads).
enum BlockKind { kInterior, kLeft, kRight, kEdge };

template <int K, int S, int T>
inline BlockKind block_kind(const RowCtx& r, long x0, int tb, long out_w, long xi0, long xi1) {
  if (tb == T && x0 >= xi0 && x0 + T <= xi1) return kInterior;
  if (S == 1 && tb == T && r.ix_origin == -(K / 2)) {
    const long ix0 = x0 - K / 2, W = static_cast<long>(r.W), NX = T + K - 1;
    if (x0 == 0 && NX - K / 2 <= W) return kLeft;
    if (x0 + T == out_w && ix0 >= 0 && ix0 + NX - W == K / 2) return kRight;
  }
  return kEdge;
}

// The block variant for R output rows and block kind, whole or partial
// channel block (a whole one loads and stores without a lane mask).  Written
// out per R on purpose (LP_DW_BLOCKS expands to the kinds): the same
// dispatch through a helper template per R changed GCC's inlining and
// measured 1.1-1.4x slower on the k7 s1 shapes (ab_dwconv, 21 rounds, same
// bits).
#define LP_DW_BLOCKS(R_, FULL_)                                                         \
  if (kind == kInterior) {                                                             \
    block<K, S, T, R_, false, FULL_>(r, x0, T);                                        \
  } else if constexpr (S == 1 && FULL_ && R_ > 1) {                                   \
    if (kind == kLeft) block<K, S, T, R_, false, FULL_, K / 2, 0>(r, x0, T);           \
    else if (kind == kRight) block<K, S, T, R_, false, FULL_, 0, K / 2>(r, x0, T);     \
    else block<K, S, T, R_, true, FULL_>(r, x0, tb);                                   \
  } else {                                                                             \
    block<K, S, T, R_, true, FULL_>(r, x0, tb);                                        \
  }
template <int K, int S, int T>
__attribute__((always_inline)) inline void dispatch_block(const RowCtx& r, int R, BlockKind kind, long x0, int tb) {
  if constexpr (S == 1 && T == 4) {
    if (R == 3) {
      if (r.mk == 0xFFFF) {
        LP_DW_BLOCKS(3, true)
      } else {
        LP_DW_BLOCKS(3, false)
      }
      return;
    }
  }
  if (r.mk == 0xFFFF) {
    if (R == 2) {
      LP_DW_BLOCKS(2, true)
    } else {
      LP_DW_BLOCKS(1, true)
    }
    return;
  }
  if (R == 2) {
    LP_DW_BLOCKS(2, false)
  } else {
    LP_DW_BLOCKS(1, false)
  }
}
#undef LP_DW_BLOCKS

template <int K, int S, int T>
void run(const DwConvParams& p, const float* in, const float* w, const float* bias, float* out,
         size_t oy0, size_t oy1) {
  const size_t C = p.channels, OW = p.out_w, LD = dw_pixel_stride(p);
  const long H = static_cast<long>(p.in_h), W = static_cast<long>(p.in_w), pad = p.pad;
  // Output columns whose taps are all inside the image: [xi0, xi1).
  const long xi0 = (pad + S - 1) / S;
  const long xi1 = std::max<long>(xi0, std::min<long>(static_cast<long>(OW), W - K + pad >= 0 ? (W - K + pad) / S + 1 : 0));
  RowCtx r;
  r.C = LD;
  r.W = p.in_w;
  r.ostride = OW * LD;
  r.ix_origin = -pad;
  r.vmin = _mm512_set1_ps(p.min);
  r.vmax = _mm512_set1_ps(p.max);
  // Channel groups: the input rows a row pair reads, (2S + K - 2) x W
  // pixels, are kept within ~kL2Budget bytes per group so that they stay in
  // L2 from one row pair to the next (the wide early layers, 112 x 144
  // channels, would otherwise overflow a 1 MB L2).
  const size_t rows_live = static_cast<size_t>(2 * S + K - 2);
  const size_t cg_fit = kL2Budget / (rows_live * p.in_w * sizeof(float)) / 16 * 16;
  const size_t CG = std::min(C, std::max<size_t>(16, cg_fit));
  for (size_t g0 = 0; g0 < C; g0 += CG) {
    const size_t g1 = std::min(C, g0 + CG);
    for (size_t oy = oy0; oy < oy1;) {
      const int R = group_rows<S, T>(oy1 - oy);
      const long iy0 = static_cast<long>(oy) * S - pad;
      for (int q = 0; q < R; ++q) {
        const long iyq = iy0 + q * S;
        r.ky0[q] = static_cast<int>(std::max<long>(0, -iyq));
        r.ky1[q] = static_cast<int>(std::min<long>(K, H - iyq));
      }
      r.iy_base = iy0;
      // rows the next pair reads that this pair does not
      const long pf0 = std::max<long>(0, iy0 + (R - 1) * S + K), pf1 = std::min<long>(H, iy0 + (2 * R - 1) * S + K);
      const bool pf = oy + R < oy1 && pf1 > pf0;
      r.npf = pf ? static_cast<int>(pf1 - pf0) : 0;
      for (size_t c0 = g0; c0 < g1; c0 += 16) {
        r.pf = pf ? in + static_cast<size_t>(pf0) * p.in_w * LD + c0 : nullptr;
        r.mk = lane_mask(C - c0);
        r.in = in + c0;
        r.w = w + c0;
        r.out = out + oy * OW * LD + c0;
        r.bias = _mm512_maskz_loadu_ps(r.mk, bias + c0);
        for (long x0 = 0; x0 < static_cast<long>(OW); x0 += T) {
          const int tb = static_cast<int>(std::min<long>(T, static_cast<long>(OW) - x0));
          dispatch_block<K, S, T>(r, R, block_kind<K, S, T>(r, x0, tb, static_cast<long>(OW), xi0, xi1), x0, tb);
        }
      }
      oy += static_cast<size_t>(R);
    }
  }
}

// Columns order for narrow layers of two or three channel blocks
// (kColumnsMinC <= C <= kColumnsMaxC: the 32-channel stem depthwise and
// the largest head depthwise): per row pair, each block of T output pixels
// is computed for all channel blocks before the next block, so the input
// is read along whole pixels (C floats contiguous) instead of one
// 16-channel slice of every pixel per pass; no software prefetch (the
// hardware prefetcher follows the contiguous stream).  Measured in the
// network on Zen 4 (litepose profile, 1 thread, min / median of 15 runs):
// 224x224x32 k3 1.75 / 1.92 -> 1.13 / 1.67 ms, 224x224x32 k5 1.77 / 1.91 ->
// 1.21 / 1.76 ms, 128x128x32 k3 0.44 / 0.57 -> 0.27 / 0.39 ms; with 16 and
// 24 channels (one block, or one and a half) the row order with prefetch
// measured faster, so they keep it.
// Its setup repeats run()'s on purpose: sharing it through helpers (as the
// AVX2 file does) measured 1.1-1.3x slower on the stride-2 shapes of run()
// (ab_dwconv, 2 x 15 rounds, same bits), so run() keeps its own copy.
template <int K, int S, int T>
void run_columns(const DwConvParams& p, const float* in, const float* w, const float* bias, float* out,
                 size_t oy0, size_t oy1) {
  const size_t C = p.channels, OW = p.out_w, LD = dw_pixel_stride(p);
  const long H = static_cast<long>(p.in_h), W = static_cast<long>(p.in_w), pad = p.pad;
  const long xi0 = (pad + S - 1) / S;
  const long xi1 = std::max<long>(xi0, std::min<long>(static_cast<long>(OW), W - K + pad >= 0 ? (W - K + pad) / S + 1 : 0));
  RowCtx r;
  r.C = LD;
  r.W = p.in_w;
  r.ostride = OW * LD;
  r.ix_origin = -pad;
  r.vmin = _mm512_set1_ps(p.min);
  r.vmax = _mm512_set1_ps(p.max);
  r.pf = nullptr;
  r.npf = 0;
  for (size_t oy = oy0; oy < oy1;) {
    const int R = oy + 1 < oy1 ? 2 : 1;
    const long iy0 = static_cast<long>(oy) * S - pad;
    for (int q = 0; q < R; ++q) {
      const long iyq = iy0 + q * S;
      r.ky0[q] = static_cast<int>(std::max<long>(0, -iyq));
      r.ky1[q] = static_cast<int>(std::min<long>(K, H - iyq));
    }
    r.iy_base = iy0;
    for (long x0 = 0; x0 < static_cast<long>(OW); x0 += T) {
      const int tb = static_cast<int>(std::min<long>(T, static_cast<long>(OW) - x0));
      const BlockKind kind = block_kind<K, S, T>(r, x0, tb, static_cast<long>(OW), xi0, xi1);
      for (size_t c0 = 0; c0 < C; c0 += 16) {
        r.mk = lane_mask(C - c0);
        r.in = in + c0;
        r.w = w + c0;
        r.out = out + oy * OW * LD + c0;
        r.bias = _mm512_maskz_loadu_ps(r.mk, bias + c0);
        dispatch_block<K, S, T>(r, R, kind, x0, tb);
      }
    }
    oy += static_cast<size_t>(R);
  }
}

// Any K / stride: one output pixel at a time, taps checked.
void run_generic(const DwConvParams& p, const float* in, const float* w, const float* bias, float* out,
                 size_t oy0, size_t oy1) {
  const size_t C = p.channels, LD = dw_pixel_stride(p);
  const int k = p.kernel, s = p.stride, pad = p.pad;
  const long H = static_cast<long>(p.in_h), W = static_cast<long>(p.in_w);
  const __m512 vmin = _mm512_set1_ps(p.min), vmax = _mm512_set1_ps(p.max);
  for (size_t oy = oy0; oy < oy1; ++oy)
    for (size_t ox = 0; ox < p.out_w; ++ox)
      for (size_t c0 = 0; c0 < C; c0 += 16) {
        const __mmask16 mk = lane_mask(C - c0);
        __m512 acc = _mm512_maskz_loadu_ps(mk, bias + c0);
        for (int ky = 0; ky < k; ++ky) {
          const long iy = static_cast<long>(oy) * s - pad + ky;
          if (iy < 0 || iy >= H) continue;
          for (int kx = 0; kx < k; ++kx) {
            const long ix = static_cast<long>(ox) * s - pad + kx;
            if (ix < 0 || ix >= W) continue;
            const float* ip = in + (static_cast<size_t>(iy) * p.in_w + static_cast<size_t>(ix)) * LD + c0;
            const float* wp = w + static_cast<size_t>(ky * k + kx) * LD + c0;
            acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mk, ip), _mm512_maskz_loadu_ps(mk, wp), acc);
          }
        }
        acc = _mm512_min_ps(_mm512_max_ps(acc, vmin), vmax);
        _mm512_mask_storeu_ps(out + (oy * p.out_w + ox) * LD + c0, mk, acc);
      }
}

}  // namespace

void f32_dwconv_kxk__avx512f(const DwConvParams& p, const float* in, const float* w,
                             const float* bias, float* out, size_t oy0, size_t oy1) {
  const int k = p.kernel, s = p.stride;
  if (p.channels >= kColumnsMinC && p.channels <= kColumnsMaxC) {
    if (k == 7 && s == 1) return run_columns<7, 1, 4>(p, in, w, bias, out, oy0, oy1);
    if (k == 7 && s == 2) return run_columns<7, 2, 4>(p, in, w, bias, out, oy0, oy1);
    if (k == 5 && s == 1) return run_columns<5, 1, 4>(p, in, w, bias, out, oy0, oy1);
    if (k == 5 && s == 2) return run_columns<5, 2, 4>(p, in, w, bias, out, oy0, oy1);
    if (k == 3 && s == 1) return run_columns<3, 1, 8>(p, in, w, bias, out, oy0, oy1);
    if (k == 3 && s == 2) return run_columns<3, 2, 8>(p, in, w, bias, out, oy0, oy1);
  }
  if (k == 7 && s == 1) return run<7, 1, 4>(p, in, w, bias, out, oy0, oy1);
  if (k == 7 && s == 2) return run<7, 2, 4>(p, in, w, bias, out, oy0, oy1);
  if (k == 5 && s == 1) return run<5, 1, 4>(p, in, w, bias, out, oy0, oy1);
  if (k == 5 && s == 2) return run<5, 2, 4>(p, in, w, bias, out, oy0, oy1);
  if (k == 3 && s == 1) return run<3, 1, 8>(p, in, w, bias, out, oy0, oy1);
  if (k == 3 && s == 2) return run<3, 2, 8>(p, in, w, bias, out, oy0, oy1);
  run_generic(p, in, w, bias, out, oy0, oy1);
}

}  // namespace litepose::kernels
