// Operator layer: work split and threading around the microkernels.
//
// Work is split into more tasks than threads (about 4 per thread) so the
// dynamic scheduler of the pool can even out uneven rows (borders cost less
// than the interior in depthwise convolutions) and a busy core on a noisy
// machine does not hold everyone up.
#include "ops/ops.h"

#include "ops/deconv_pair.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#include <xmmintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

namespace litepose::ops {

namespace {

// Splits [0, total) into tasks: about 4 per thread, boundaries at multiples
// of `grain` (except the end), task i starting near i/tasks of the way.  The
// pool gives thread t the tasks [t*tasks/T, (t+1)*tasks/T), so thread t
// covers about the same fraction [t/T, (t+1)/T) of the rows in every layer
// (see threadpool.h: it then mostly reads rows it wrote itself).
struct Split {
  size_t total, grain, tasks;
  size_t begin(size_t i) const {
    if (i >= tasks) return total;
    const size_t b = (total * i / tasks + grain / 2) / grain * grain;
    return std::min(b, total);
  }
};
Split split(size_t total, size_t grain, int threads) {
  if (total == 0) return {0, 1, 0};
  const size_t want = threads <= 1 ? 1 : static_cast<size_t>(threads) * 4;
  const size_t units = (total + grain - 1) / grain;
  return {total, grain, std::min(want, units)};
}

// fn(r0, r1, thread)
template <typename Fn>
void for_rows_on(ThreadPool& pool, size_t rows, size_t grain, Fn&& fn) {
  const Split s = split(rows, grain, pool.num_threads());
  if (s.tasks <= 1 && !pool.tracing()) {
    if (rows) fn(size_t(0), rows, 0);
    return;
  }
  pool.parallel_for(s.tasks, [&](size_t t, int thread) {
    const size_t r0 = s.begin(t), r1 = s.begin(t + 1);
    if (r1 > r0) fn(r0, r1, thread);
  });
}

// fn(r0, r1)
template <typename Fn>
void for_rows(ThreadPool& pool, size_t rows, size_t grain, Fn&& fn) {
  for_rows_on(pool, rows, grain, [&](size_t r0, size_t r1, int) { fn(r0, r1); });
}

// fn(r0, r1) for a kernel that computes `group` rows together (the
// depthwise kernels, dwconv_row_group): thread t's share is
// [rows*t/T, rows*(t+1)/T) as in split(), cut into up to 4 tasks whose
// lengths are multiples of `group` (the last of a share excepted).
// Rounding the global split to the group instead would unbalance the
// threads (16 rows, 2 threads, groups of 3: 9 + 7 rows).
template <typename Fn>
void for_row_groups(ThreadPool& pool, size_t rows, size_t group, Fn&& fn) {
  const size_t T = static_cast<size_t>(pool.num_threads());
  if (T <= 1 || rows <= 1 || group <= 1) return for_rows(pool, rows, 1, fn);
  const size_t share = rows / T;  // the shortest share
  const size_t k = std::max<size_t>(1, std::min<size_t>(4, (share + group - 1) / group));
  auto begin = [&](size_t i) {  // task i: share i / k, piece i % k
    const size_t t = i / k, j = i % k;
    const size_t a = rows * t / T, b = rows * (t + 1) / T;
    if (j == 0) return a;
    return std::min(b, a + ((b - a) * j / k + group / 2) / group * group);
  };
  pool.parallel_for(T * k, [&](size_t i, int) {
    const size_t r0 = begin(i), r1 = i % k == k - 1 ? rows * (i / k + 1) / T : begin(i + 1);
    if (r1 > r0) fn(r0, r1);
  });
}

}  // namespace

void conv1x1(const KernelSet& ks, ThreadPool& pool, size_t pixels, size_t k, size_t n,
             const float* in, const float* packed_w, float* out, const float* residual,
             float min, float max) {
  for_rows(pool, pixels, ks.gemm_mr * 4, [&](size_t r0, size_t r1) {
    ks.gemm(r1 - r0, n, k, in + r0 * k, k, packed_w, out + r0 * n, n,
            residual ? residual + r0 * n : nullptr, n, min, max);
  });
}

void dwconv(const KernelSet& ks, ThreadPool& pool, const kernels::DwConvParams& p, const float* in,
            const float* w, const float* bias, float* out) {
  const size_t group = dwconv_row_group(ks, p.kernel, p.stride);
  for_row_groups(pool, p.out_h, group, [&](size_t r0, size_t r1) { ks.dwconv(p, in, w, bias, out, r0, r1); });
}

void deconv_pair(const KernelSet& ks, ThreadPool& pool, const DeconvPairParams& p, const DeconvPairWeights& w,
                 const float* refined, const float* raw, float* out, float* scratch) {
  const size_t per = deconv_pair_scratch_floats(p), H2 = 2 * p.wino.in_h;
  if (!w.wino || !ks.deconv_wino_in) {
    for_rows(pool, H2, 2, [&](size_t r0, size_t r1) { deconv_pair_direct(ks, p, w, refined, raw, out, r0, r1); });
    return;
  }
  // Tasks: (batch of groups, phase) -- the four phases write disjoint
  // pixels, so a few batches still split evenly across threads -- and one
  // for the rows after the last whole group (direct).
  const size_t G = kDeconvWinoRows, full = deconv_wino_full_rows(p), bg = deconv_wino_batch(p) * G;
  const size_t batches = (full + bg - 1) / bg, tasks = batches * 4 + (full < H2 ? 1 : 0);
  auto run = [&](size_t t, int thread) {
    float* sc = scratch + static_cast<size_t>(thread) * per;
    if (t == batches * 4) return deconv_pair_direct(ks, p, w, refined, raw, out, full, H2);
    const size_t g0 = t / 4 * bg, ph = t % 4;
    deconv_pair_groups(ks, p, w, refined, raw, out, g0, std::min(full, g0 + bg), static_cast<int>(ph),
                       static_cast<int>(ph) + 1, 0, H2, sc);
  };
  if (pool.num_threads() == 1 && !pool.tracing()) {
    for (size_t t = 0; t < tasks; ++t) run(t, 0);
    return;
  }
  pool.parallel_for(tasks, run);
}

void conv(const KernelSet& ks, ThreadPool& pool, const kernels::ConvParams& p, const float* in,
          const float* w, const float* bias, float* out) {
  for_rows(pool, p.out_h, 1, [&](size_t r0, size_t r1) { ks.conv(p, in, w, bias, out, r0, r1); });
}

bool nchw_to_nhwc(ThreadPool& pool, const float* in, size_t c, size_t h, size_t w, float* out) {
  const size_t hw = h * w;
  std::atomic<bool> finite{true};
  for_rows(pool, h, 1, [&](size_t r0, size_t r1) {
    const size_t i0 = r0 * w, n = (r1 - r0) * w;
    // finiteness, branch-free over the raw bits: exponent all ones
    uint32_t bad = 0;
    auto check = [&bad](const float* src, size_t count) {
      for (size_t i = 0; i < count; ++i) {
        uint32_t u;
        std::memcpy(&u, src + i, sizeof u);
        bad |= static_cast<uint32_t>((u & 0x7f800000u) == 0x7f800000u);
      }
    };
    float* o = out + i0 * c;
    if (c == 3) {  // the network input: check and interleave in one pass
      const float *p0 = in + i0, *p1 = p0 + hw, *p2 = p1 + hw;
      size_t i = 0;
#if defined(__SSE2__)
      // 4 pixels: planes a, b, c -> a0 b0 c0 a1 | b1 c1 a2 b2 | c2 a3 b3 c3
      // (litepose profile, 1 thread, medians of 3 x 15 runs, Zen 4, against the
      // scalar check-then-copy: 256 x 256 0.11-0.17 -> 0.06-0.11 ms, 512 x 512
      // 0.40-0.43 -> 0.23-0.32 ms)
      const __m128i expo = _mm_set1_epi32(0x7f800000);
      __m128i badv = _mm_setzero_si128();
      for (; i + 4 <= n; i += 4) {
        const __m128 a = _mm_loadu_ps(p0 + i), b = _mm_loadu_ps(p1 + i), cc = _mm_loadu_ps(p2 + i);
        for (__m128 v : {a, b, cc})
          badv = _mm_or_si128(badv, _mm_cmpeq_epi32(_mm_and_si128(_mm_castps_si128(v), expo), expo));
        const __m128 lo = _mm_unpacklo_ps(a, b), hi = _mm_unpackhi_ps(a, b);  // a0 b0 a1 b1, a2 b2 a3 b3
        const __m128 c0a1 = _mm_shuffle_ps(cc, lo, _MM_SHUFFLE(2, 2, 0, 0));   // c0 c0 a1 a1
        const __m128 b1c1 = _mm_shuffle_ps(lo, cc, _MM_SHUFFLE(1, 1, 3, 3));   // b1 b1 c1 c1
        const __m128 c2a3 = _mm_shuffle_ps(cc, hi, _MM_SHUFFLE(2, 2, 2, 2));   // c2 c2 a3 a3
        const __m128 b3c3 = _mm_shuffle_ps(hi, cc, _MM_SHUFFLE(3, 3, 3, 3));   // b3 b3 c3 c3
        _mm_storeu_ps(o + 3 * i, _mm_shuffle_ps(lo, c0a1, _MM_SHUFFLE(2, 0, 1, 0)));
        _mm_storeu_ps(o + 3 * i + 4, _mm_shuffle_ps(b1c1, hi, _MM_SHUFFLE(1, 0, 2, 0)));
        _mm_storeu_ps(o + 3 * i + 8, _mm_shuffle_ps(c2a3, b3c3, _MM_SHUFFLE(2, 0, 2, 0)));
      }
      bad |= static_cast<uint32_t>(_mm_movemask_epi8(badv) != 0);
#elif defined(__aarch64__)
      // 4 pixels: vst3q interleaves the three planes' vectors as it stores
      const uint32x4_t expo = vdupq_n_u32(0x7f800000u);
      uint32x4_t badv = vdupq_n_u32(0);
      for (; i + 4 <= n; i += 4) {
        float32x4x3_t v;
        v.val[0] = vld1q_f32(p0 + i);
        v.val[1] = vld1q_f32(p1 + i);
        v.val[2] = vld1q_f32(p2 + i);
        for (int j = 0; j < 3; ++j)
          badv = vorrq_u32(badv, vceqq_u32(vandq_u32(vreinterpretq_u32_f32(v.val[j]), expo), expo));
        vst3q_f32(o + 3 * i, v);
      }
      bad |= static_cast<uint32_t>(vmaxvq_u32(badv) != 0);
#endif
      check(p0 + i, n - i);
      check(p1 + i, n - i);
      check(p2 + i, n - i);
      for (; i < n; ++i) {
        o[3 * i] = p0[i];
        o[3 * i + 1] = p1[i];
        o[3 * i + 2] = p2[i];
      }
    } else {
      for (size_t ch = 0; ch < c; ++ch) check(in + ch * hw + i0, n);
      for (size_t i = 0; i < n; ++i)
        for (size_t ch = 0; ch < c; ++ch) o[i * c + ch] = in[ch * hw + i0 + i];
    }
    if (bad) finite.store(false, std::memory_order_relaxed);
  });
  return finite.load(std::memory_order_relaxed);
}

void nhwc_to_nchw_pixels(const float* in, size_t hw, size_t c, float* out, size_t p0, size_t p1) {
  // Tiles of kTile pixels: a tile's input (kTile x c floats) stays in L1
  // while each channel's kTile outputs are written as contiguous runs.  On
  // x86-64 (SSE2 is baseline) 4 pixels x 4 channels are transposed in
  // registers; other channels and targets copy one float at a time.
  constexpr size_t kTile = 64;
  for (size_t t0 = p0; t0 < p1; t0 += kTile) {
    const size_t t1 = std::min(p1, t0 + kTile);
    size_t ch = 0;
#if defined(__SSE2__)
    const size_t t4 = t0 + (t1 - t0) / 4 * 4;
    for (; ch + 4 <= c; ch += 4) {
      float* o = out + ch * hw;
      for (size_t i = t0; i < t4; i += 4) {
        __m128 r0 = _mm_loadu_ps(in + i * c + ch), r1 = _mm_loadu_ps(in + (i + 1) * c + ch);
        __m128 r2 = _mm_loadu_ps(in + (i + 2) * c + ch), r3 = _mm_loadu_ps(in + (i + 3) * c + ch);
        _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
        _mm_storeu_ps(o + i, r0);
        _mm_storeu_ps(o + hw + i, r1);
        _mm_storeu_ps(o + 2 * hw + i, r2);
        _mm_storeu_ps(o + 3 * hw + i, r3);
      }
      for (size_t i = t4; i < t1; ++i)
        for (size_t j = 0; j < 4; ++j) o[j * hw + i] = in[i * c + ch + j];
    }
#endif
    for (; ch < c; ++ch) {
      float* o = out + ch * hw;
      for (size_t i = t0; i < t1; ++i) o[i] = in[i * c + ch];
    }
  }
}

void nhwc_to_nchw(ThreadPool& pool, const float* in, size_t h, size_t w, size_t c, float* out) {
  const size_t hw = h * w;
  for_rows(pool, hw, 64, [&](size_t p0, size_t p1) { nhwc_to_nchw_pixels(in, hw, c, out, p0, p1); });
}

}  // namespace litepose::ops
