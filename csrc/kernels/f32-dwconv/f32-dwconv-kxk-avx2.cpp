// f32_dwconv_kxk__avx2: kxk depthwise convolution over NHWC, AVX2+FMA.
//
// Design
//   Vectorised over channels (8 per ymm; the last block uses
//   _mm256_maskload/maskstore, so any channel count works and nothing past a
//   pixel's C channels is touched).  Work unit: 2 output rows x T = 4 output
//   pixels x 8 channels = 8 accumulators, 8 independent FMA chains for the
//   2 pipes x 4-cycle latency.  Each input row u is visited once for both
//   output rows (kernel row ky = u for the first, u - S for the second); per
//   tap kx the two weight vectors are loaded once and every input vector
//   loaded feeds both rows.  With K a compile-time constant (7 s1/s2, 5 s1,
//   3 s1: every LitePose layer) the kx loop is unrolled and the compiler
//   keeps a sliding window of the input row in registers (input t + kx is the
//   same vector for (t, kx) and (t+1, kx-1)): about 4-5 live inputs next to
//   8 accumulators and 2 weights in the 16 ymm registers.  Any other K or
//   stride runs the same code with run-time bounds.
//
//     input row u, tap kx (S = 1):
//       w0 = W[u][kx]  w1 = W[u-1][kx]                 (2 ymm)
//       x = in[x0 + kx + t]:  acc0[t] += x * w0        t = 0..3
//                             acc1[t] += x * w1        (8 ymm accumulators)
//
//   Kernel rows outside the image are skipped per output row; blocks that
//   touch the left/right border or the row end zero the out-of-image inputs
//   (they are loaded from column 0, always valid, and masked to 0 with an
//   AND), so the tap adds exactly 0 and no padded copy exists; in rows order
//   at stride 1 the first and last whole block of a row (K/2 columns outside
//   when the width is a multiple of kT) skip those columns' loads and FMAs
//   at compile time instead, for whole-channel row pairs only (code size:
//   see the AVX-512 file).  litepose profile, XS, LITEPOSE_ISA=avx2, 1
//   thread, per-stage sums of layer minimums over 4 alternating processes on
//   Zen 4: 16x16 k7 layers 1.16x, 32x32 1.07x, 64x64 1.01x faster, the other
//   layers unchanged.  Channels are
//   processed in groups sized so a row pair's input rows stay in L2, and the
//   rows the next pair adds are prefetched into L2 during this one.  Layers
//   with at most 48 channels sweep the other way (columns order, see
//   kColumnsMaxC).  Any odd K and stride.
// Contract: kernels.h (DwConvFn); computes output rows [oy0, oy1) only.
#include <immintrin.h>

#include <algorithm>

#include "kernels/f32-dwconv/f32-dwconv.h"

namespace litepose::kernels {

namespace {

constexpr int kT = 4;
// Bytes of input rows a channel group may keep live in L2.
constexpr size_t kL2Budget = 256 * 1024;
// Layers with at most this many channels (the stem and head depthwise
// layers, 24-40 channels) run in columns order, without prefetches: 1.04-1.5x
// faster than rows order on Zen 3, same bits (benchmarks/ab_dwconv.cpp,
// median of 15-21 interleaved rounds, 128..256-wide k3/k5 shapes); for wider
// layers the two orders measured within noise of each other or rows faster.
constexpr size_t kColumnsMaxC = 48;

inline __m256i ymm_mask(size_t valid) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(valid > 8 ? 8 : valid)), idx);
}

template <bool TAIL>
inline __m256 load(const float* p, __m256i mk) {
  if constexpr (TAIL) return _mm256_maskload_ps(p, mk);
  else return _mm256_loadu_ps(p);
}

struct RowCtx {
  const float* in;  // input at (row 0, col 0, channel c0)
  const float* w;   // weights at (tap 0, channel c0)
  float* out;       // output at (first output row, col 0, channel c0)
  size_t C, ostride;  // C: floats per pixel (dw_pixel_stride)
  long W, iy_base, ix_origin;
  int K, S;
  int ky0[2], ky1[2];  // valid kernel rows of each output row of the group
  const float* pf;     // first input row the next row pair adds (or null)
  int npf;             // how many rows from pf to prefetch
  __m256i mk;
  __m256 bias, vmin, vmax;
};

// One input row u for the rows of the group that use it (Q0: first output
// row with ky = u, Q1: second with ky = u - S).
// LZ / RZ (not EDGE; K and S known at compile time): the first LZ / last RZ
// input columns of the block lie outside the image and are skipped.
template <int KK, int S, bool EDGE, bool TAIL, bool Q0, bool Q1, int LZ = 0, int RZ = 0>
inline void row_taps(const RowCtx& r, const float* row, long ix0, int u, const size_t* off,
                     const __m256* keep, __m256 (&acc)[2][kT]) {
  constexpr int NX = (kT - 1) * S + KK;  // input columns of the block (KK, S > 0 when LZ or RZ)
  const long s = S ? S : r.S;
  const size_t pix = r.C;
  const int K = KK ? KK : r.K;  // KK == 0: kernel size known only at run time
  const float* w0p = r.w + static_cast<size_t>(u * K) * pix;
  const float* w1p = r.w + static_cast<size_t>((u - s) * K) * pix;
#pragma GCC unroll 8
  for (int kx = 0; kx < K; ++kx) {
    __m256 w0, w1;
    if (Q0) w0 = load<TAIL>(w0p + static_cast<size_t>(kx) * pix, r.mk);
    if (Q1) w1 = load<TAIL>(w1p + static_cast<size_t>(kx) * pix, r.mk);
#pragma GCC unroll 8
    for (int t = 0; t < kT; ++t) {
      if ((LZ || RZ) && (t * S + kx < LZ || t * S + kx >= NX - RZ)) continue;  // a zero column
      __m256 x;
      if constexpr (EDGE) {
        const long j = t * s + kx;
        x = _mm256_and_ps(load<TAIL>(row + off[j], r.mk), keep[j]);
      } else {
        x = load<TAIL>(row + static_cast<ptrdiff_t>(ix0 + t * s + kx) * static_cast<ptrdiff_t>(pix), r.mk);
      }
      if (Q0) acc[0][t] = _mm256_fmadd_ps(x, w0, acc[0][t]);
      if (Q1) acc[1][t] = _mm256_fmadd_ps(x, w1, acc[1][t]);
    }
  }
}

// R (1 or 2) output rows x kT output pixels from output column x0.  EDGE:
// the block touches the image border or the row end (tb < kT).
template <int KK, int S, int R, bool EDGE, bool TAIL, int LZ = 0, int RZ = 0>
inline void block(const RowCtx& r, long x0, int tb) {
  __m256 acc[2][kT];
#pragma GCC unroll 8
  for (int t = 0; t < kT; ++t) acc[0][t] = acc[1][t] = r.bias;
  const long s = S ? S : r.S;  // S == 0: stride known only at run time
  const long ix0 = x0 * s + r.ix_origin;
  const size_t pix = r.C;  // floats per pixel
  // EDGE: per input column j of the block, its offset (0 when outside) and
  // an all-ones / all-zero AND mask.  At most kT*S + K - 1 columns.
  constexpr int kMaxCols = 64;
  size_t off[EDGE ? kMaxCols : 1];
  __m256 keep[EDGE ? kMaxCols : 1];
  if constexpr (EDGE) {
    const long ncols = (kT - 1) * s + r.K;
    const long last = (tb - 1) * s + r.K - 1;
    const __m256 ones = _mm256_castsi256_ps(_mm256_set1_epi32(-1));
    for (long j = 0; j < ncols; ++j) {
      const long ix = ix0 + j;
      const bool ok = ix >= 0 && ix < r.W && j <= last;
      off[j] = ok ? static_cast<size_t>(ix) * pix : 0;
      keep[j] = ok ? ones : _mm256_setzero_ps();
    }
  }
  if (r.pf) {
    // Pull the input rows the next row pair adds into L2 while this pair
    // computes (a layer's input is usually far larger than L2).
    for (int q = 0; q < r.npf; ++q)
      for (long j = 0; j < kT * s; ++j) {
        const long ix = std::min<long>(std::max<long>(ix0 + j, 0), r.W - 1);
        _mm_prefetch(reinterpret_cast<const char*>(r.pf + (static_cast<size_t>(q) * static_cast<size_t>(r.W) +
                                                           static_cast<size_t>(ix)) * pix),
                     _MM_HINT_T1);
      }
  }
  const int u0 = r.ky0[0], u1 = R == 2 ? r.ky1[1] + static_cast<int>(s) : r.ky1[0];
  for (int u = u0; u < u1; ++u) {
    const float* row = r.in + static_cast<size_t>(r.iy_base + u) * static_cast<size_t>(r.W) * pix;
    const bool q0 = u >= r.ky0[0] && u < r.ky1[0];
    const bool q1 = R == 2 && u - s >= r.ky0[1] && u - s < r.ky1[1];
    if (q0 && q1) row_taps<KK, S, EDGE, TAIL, true, true, LZ, RZ>(r, row, ix0, u, off, keep, acc);
    else if (q0) row_taps<KK, S, EDGE, TAIL, true, false, LZ, RZ>(r, row, ix0, u, off, keep, acc);
    else if (q1) row_taps<KK, S, EDGE, TAIL, false, true, LZ, RZ>(r, row, ix0, u, off, keep, acc);
  }
#pragma GCC unroll 2
  for (int q = 0; q < R; ++q)
#pragma GCC unroll 8
    for (int t = 0; t < kT; ++t) {
      if (EDGE && t >= tb) break;
      const __m256 v = _mm256_min_ps(_mm256_max_ps(acc[q][t], r.vmin), r.vmax);
      float* o = r.out + q * r.ostride + static_cast<size_t>(x0 + t) * pix;
      if constexpr (TAIL) _mm256_maskstore_ps(o, r.mk, v);
      else _mm256_storeu_ps(o, v);
    }
}

// Which whole block of a stride-1 row has exactly K/2 input columns outside
// the image on one side only (the first and the last when the width is a
// multiple of kT, as in every LitePose layer): -1 left, 1 right, 0 neither.
template <int KK, int S>
inline int zero_side(const RowCtx& r, long x0, int tb, long OW) {
  if constexpr (KK == 0 || S != 1) {
    return 0;
  } else {
    if (tb != kT || r.ix_origin != -(KK / 2)) return 0;
    constexpr long NX = kT + KK - 1;
    if (x0 == 0 && NX - KK / 2 <= r.W) return -1;
    if (x0 + kT == OW && x0 >= KK / 2 && x0 - KK / 2 + NX - r.W == KK / 2) return 1;
    return 0;
  }
}

// One block of kT pixels at x0: interior, first/last whole block of a
// stride-1 row (its out-of-image columns skipped at compile time), or edge.
template <int KK, int S, int R, bool TAIL>
inline void any_block(const RowCtx& r, long x0, int tb, long OW, long xi0, long xi1) {
  if (tb == kT && x0 >= xi0 && x0 + kT <= xi1) return block<KK, S, R, false, TAIL>(r, x0, kT);
  if constexpr (KK > 0 && S == 1 && R == 2 && !TAIL) {  // the common blocks only (code size)
    const int side = zero_side<KK, S>(r, x0, tb, OW);
    if (side < 0) return block<KK, S, R, false, TAIL, KK / 2, 0>(r, x0, kT);
    if (side > 0) return block<KK, S, R, false, TAIL, 0, KK / 2>(r, x0, kT);
  }
  block<KK, S, R, true, TAIL>(r, x0, tb);
}

template <int KK, int S, int R, bool TAIL>
inline void sweep(const RowCtx& r, long OW, long xi0, long xi1) {
  for (long x0 = 0; x0 < OW; x0 += kT) {
    const int tb = static_cast<int>(std::min<long>(kT, OW - x0));
    any_block<KK, S, R, TAIL>(r, x0, tb, OW, xi0, xi1);
  }
}

template <int KK, int S, bool TAIL>
inline void sweep_rows(const RowCtx& r, int R, long OW, long xi0, long xi1) {
  if (R == 2) sweep<KK, S, 2, TAIL>(r, OW, xi0, xi1);
  else sweep<KK, S, 1, TAIL>(r, OW, xi0, xi1);
}

// Columns order, for layers with few channels: one column block of kT
// pixels goes through every channel block before the next column block, so
// the inputs it reads (contiguous along the channels) are streamed rather
// than visited at a stride of C floats once per channel block.
template <int KK, int S, int R, bool EDGE>
inline void column(RowCtx& r, const float* in, const float* w, const float* bias, float* out, size_t C,
                   long x0, int tb) {
  for (size_t c0 = 0; c0 < C; c0 += 8) {
    r.in = in + c0;
    r.w = w + c0;
    r.out = out + c0;
    if (C - c0 >= 8) {
      r.bias = _mm256_loadu_ps(bias + c0);
      block<KK, S, R, EDGE, false>(r, x0, tb);
    } else {
      r.mk = ymm_mask(C - c0);
      r.bias = _mm256_maskload_ps(bias + c0, r.mk);
      block<KK, S, R, EDGE, true>(r, x0, tb);
    }
  }
}

template <int KK, int S, int R>
inline void sweep_columns(RowCtx& r, const float* in, const float* w, const float* bias, float* out, size_t C,
                          long OW, long xi0, long xi1) {
  for (long x0 = 0; x0 < OW; x0 += kT) {
    const int tb = static_cast<int>(std::min<long>(kT, OW - x0));
    if (tb == kT && x0 >= xi0 && x0 + kT <= xi1)
      column<KK, S, R, false>(r, in, w, bias, out, C, x0, kT);
    else
      column<KK, S, R, true>(r, in, w, bias, out, C, x0, tb);
  }
}

// Layer-wide state of a call: the context every block reads, and the
// output columns [xi0, xi1) whose taps all lie inside the image.
struct Layer {
  RowCtx r;
  long OW, H, K, s, pad, xi0, xi1;
};

inline Layer start_layer(const DwConvParams& p, long s) {
  Layer L;
  L.OW = static_cast<long>(p.out_w);
  L.H = static_cast<long>(p.in_h);
  L.K = p.kernel;
  L.s = s;
  L.pad = p.pad;
  const long W = static_cast<long>(p.in_w);
  L.xi0 = (L.pad + s - 1) / s;
  L.xi1 = std::max<long>(L.xi0, std::min<long>(L.OW, W - L.K + L.pad >= 0 ? (W - L.K + L.pad) / s + 1 : 0));
  RowCtx& r = L.r;
  r.C = dw_pixel_stride(p);
  r.ostride = p.out_w * r.C;
  r.W = W;
  r.K = p.kernel;
  r.S = static_cast<int>(s);
  r.ix_origin = -L.pad;
  r.pf = nullptr;
  r.npf = 0;
  r.vmin = _mm256_set1_ps(p.min);
  r.vmax = _mm256_set1_ps(p.max);
  return L;
}

// Kernel-row bounds of the R output rows from oy; returns the input row of
// kernel row 0 for the first of them.
inline long start_pair(Layer& L, size_t oy, int R) {
  const long iy0 = static_cast<long>(oy) * L.s - L.pad;
  for (int q = 0; q < R; ++q) {
    const long iyq = iy0 + q * L.s;
    L.r.ky0[q] = static_cast<int>(std::max<long>(0, -iyq));
    L.r.ky1[q] = static_cast<int>(std::min<long>(L.K, L.H - iyq));
  }
  L.r.iy_base = iy0;
  return iy0;
}

template <int KK, int S>  // 0: any kernel size / stride, read from p
void run(const DwConvParams& p, const float* in, const float* w, const float* bias, float* out,
         size_t oy0, size_t oy1) {
  const size_t C = p.channels, LD = dw_pixel_stride(p);
  const long s = S ? S : p.stride;
  Layer L = start_layer(p, s);
  RowCtx& r = L.r;
  const long OW = L.OW, H = L.H, K = L.K, xi0 = L.xi0, xi1 = L.xi1;
  // Channel groups: the input rows a row pair reads, (2S + K - 2) x W
  // pixels, are kept within ~kL2Budget bytes per group so that they stay in
  // L2 from one row pair to the next (112 x 144 channels would overflow a
  // 1 MB L2 otherwise).
  const size_t rows_live = static_cast<size_t>(2 * s + K - 2);
  const size_t cg_fit = kL2Budget / (rows_live * p.in_w * sizeof(float)) / 8 * 8;
  const size_t CG = std::min(C, std::max<size_t>(8, cg_fit));
  for (size_t g0 = 0; g0 < C; g0 += CG) {
    const size_t g1 = std::min(C, g0 + CG);
    for (size_t oy = oy0; oy < oy1;) {
      const int R = oy + 1 < oy1 ? 2 : 1;
      const long iy0 = start_pair(L, oy, R);
      // rows the next pair reads that this pair does not
      const long pf0 = std::max<long>(0, iy0 + (R - 1) * s + K), pf1 = std::min<long>(H, iy0 + (R + 1) * s + K);
      const bool pf = oy + static_cast<size_t>(R) < oy1 && pf1 > pf0;
      r.npf = pf ? static_cast<int>(pf1 - pf0) : 0;
      for (size_t c0 = g0; c0 < g1; c0 += 8) {
        r.pf = pf ? in + static_cast<size_t>(pf0) * p.in_w * LD + c0 : nullptr;
        r.in = in + c0;
        r.w = w + c0;
        r.out = out + oy * p.out_w * LD + c0;
        if (C - c0 >= 8) {
          r.bias = _mm256_loadu_ps(bias + c0);
          sweep_rows<KK, S, false>(r, R, OW, xi0, xi1);
        } else {
          r.mk = ymm_mask(C - c0);
          r.bias = _mm256_maskload_ps(bias + c0, r.mk);
          sweep_rows<KK, S, true>(r, R, OW, xi0, xi1);
        }
      }
      oy += static_cast<size_t>(R);
    }
  }
}

// Columns order over all channels at once (C <= kColumnsMaxC); a separate
// function so that it does not change the code generated for run().
template <int KK, int S>
void run_columns(const DwConvParams& p, const float* in, const float* w, const float* bias, float* out,
                 size_t oy0, size_t oy1) {
  const size_t C = p.channels;
  Layer L = start_layer(p, S ? S : p.stride);
  for (size_t oy = oy0; oy < oy1;) {
    const int R = oy + 1 < oy1 ? 2 : 1;
    start_pair(L, oy, R);
    float* orow = out + oy * p.out_w * L.r.C;
    if (R == 2) sweep_columns<KK, S, 2>(L.r, in, w, bias, orow, C, L.OW, L.xi0, L.xi1);
    else sweep_columns<KK, S, 1>(L.r, in, w, bias, orow, C, L.OW, L.xi0, L.xi1);
    oy += static_cast<size_t>(R);
  }
}

}  // namespace

void f32_dwconv_kxk__avx2(const DwConvParams& p, const float* in, const float* w,
                          const float* bias, float* out, size_t oy0, size_t oy1) {
  // Border blocks keep per-column state for (kT-1)*stride + K <= 64
  // columns; anything wider (never in LitePose) takes the portable kernel.
  if ((kT - 1) * static_cast<long>(p.stride) + p.kernel > 64)
    return f32_dwconv_kxk__scalar(p, in, w, bias, out, oy0, oy1);
  const int k = p.kernel, s = p.stride;
  if (p.channels <= kColumnsMaxC) {
    if (k == 5 && s == 1) return run_columns<5, 1>(p, in, w, bias, out, oy0, oy1);
    if (k == 3 && s == 1) return run_columns<3, 1>(p, in, w, bias, out, oy0, oy1);
    if (k == 7 && s == 1) return run_columns<7, 1>(p, in, w, bias, out, oy0, oy1);
    if (k == 7 && s == 2) return run_columns<7, 2>(p, in, w, bias, out, oy0, oy1);
    return run_columns<0, 0>(p, in, w, bias, out, oy0, oy1);
  }
  if (k == 7 && s == 1) return run<7, 1>(p, in, w, bias, out, oy0, oy1);
  if (k == 7 && s == 2) return run<7, 2>(p, in, w, bias, out, oy0, oy1);
  if (k == 5 && s == 1) return run<5, 1>(p, in, w, bias, out, oy0, oy1);
  if (k == 3 && s == 1) return run<3, 1>(p, in, w, bias, out, oy0, oy1);
  if (s == 1) return run<0, 1>(p, in, w, bias, out, oy0, oy1);
  if (s == 2) return run<0, 2>(p, in, w, bias, out, oy0, oy1);
  return run<0, 0>(p, in, w, bias, out, oy0, oy1);
}

}  // namespace litepose::kernels
