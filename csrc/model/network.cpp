// litepose::Network: the LitePose graph over the operator layer.
//
// Load: parse and validate the model file, choose kernels for this CPU, pack
// every weight once into the chosen kernels' layouts.
// Forward: NCHW input -> NHWC activations through stem, four stages of
// inverted residual blocks and the fusion deconv head -> NCHW outputs.
//
// Memory plan (static per input size, rebuilt only when h x w or the thread
// count changes):
//   in       h   x w   x 3        the input, NHWC
//   a, b     h/2 x w/2 x stem     stem conv / stem depthwise outputs (empty
//            when the stem is fused: conv -> dw -> pw in row bands through
//            the fused block code, the conv producing the hidden rows)
//   x[0..4]  stage outputs (x[0] = stem); all kept: the head reads x[0..4]
//   e, d     largest expanded (hidden) tensor of any unfused block,
//            before/after dw (empty when every block is fused)
//   y        partner of x[s+1] for fused blocks (see below)
//   fscratch per-thread row windows of the fused blocks (ops/fused_block.h)
//   r[0..2]  deconv outputs at 1/8, 1/4, 1/2
//   t        depthwise scratch of the separable final layers
//   o4, o2   NHWC outputs before the transpose to NCHW
//   When the head's tail is fused (ops/fused_tail.h: deconv 2 -> final
//   layers 1, and final layers 0 on r[1], in row bands, each band
//   transposed into the NCHW output from cache), r[2], t, o4 and o2 are
//   empty.
// Unfused blocks after the first of each stage run in place on x[s+1]: the
// project GEMM reads each residual element before it writes the same
// element.  A fused block cannot run in place (one thread's band still reads
// input rows another thread's band has written), so a stage with fused
// blocks ping-pongs between x[s+1] and y, arranged so that its last block
// writes x[s+1].
//
// Fusion (NetworkOptions::fuse, LITEPOSE_FUSE): "auto" fuses the stem, the
// head's tail and the blocks whose expanded tensor is at least
// kFuseMinBytes (memory-bound ones; see benchmarks/bench_fusion.py); with
// several threads, a block whose rows per thread make the recomputed halo a
// large share splits its hidden channels between the threads instead
// (ops::fused_ir_channel_split; plan()), or, with too few channels for
// that, stays unfused; "on" fuses every block; "off" nothing.  Tuning knobs
// for benchmarks, read once at load:
// LITEPOSE_FUSE_MIN_KB, LITEPOSE_FUSE_HALO_PCT, LITEPOSE_FUSE_SPLIT_PCT, LITEPOSE_FUSE_BAND,
// LITEPOSE_FUSE_SLACK, LITEPOSE_FUSE_CHUNKS (per thread),
// LITEPOSE_FUSE_CACHE_KB, LITEPOSE_FUSE_RECOMPUTE.
//
// Profiling: a fused block still reports three rows (.inv, .depth_conv,
// .point_conv; the fused stem first.0-2; the fused head tail its layers
// and output<4|2>.to_nchw), kernel "fused:<kernel>" ("split:<kernel>"
// for the channel split): the
// call's wall time is split in proportion to the time its threads spent in
// each part, and the rows' spans are the parts' real per-band intervals.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <mutex>

#include "litepose/model_file.h"
#include "litepose/network.h"
#include "ops/aligned.h"
#include "ops/deconv_pair.h"
#include "ops/dispatch.h"
#include "ops/fused_block.h"
#include "ops/fused_tail.h"
#include "ops/ops.h"
#include "ops/pack.h"

namespace litepose {

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// Thrown by forward_one when the input holds a NaN or Inf at `index` (flat,
// within one image); forward() turns it into the InputError users see.
struct NonFiniteInput {
  size_t index;
};

struct Pointwise {  // 1x1 conv, packed for the GEMM kernel
  ops::AlignedBuffer w;
  size_t k = 0, n = 0;
};
struct Depthwise {
  ops::AlignedBuffer w;
  std::vector<float> bias;
  size_t c = 0;
  int k = 3, stride = 1;
};
struct Block {
  std::string name;
  Pointwise expand, project;
  Depthwise dw;
  bool residual = false;
  // memory plan
  bool fused = false;     // run as one fused_inverted_residual call
  bool split = false;     // fused, its hidden channels split between the threads (fused_ir_channel_split)
  bool to_spare = false;  // writes y instead of x[s+1]
};
struct DeconvLayer {
  ops::AlignedBuffer w_refined, w_raw;
  ops::AlignedBuffer w_wino;  // both, Winograd F(3x3, 2x2) (ops/deconv_pair.h); empty: direct
  std::vector<float> bias;
  size_t ci_refined = 0, ci_raw = 0, co = 0;
};
struct SepConv {
  Depthwise dw;
  Pointwise point;
};

const TensorData& tensor(const ModelContents& m, const std::string& name) { return m.tensors.at(name); }

Pointwise make_pointwise(const ModelContents& m, const std::string& w, const std::string& b, size_t nr) {
  const TensorData& tw = tensor(m, w);
  Pointwise p;
  p.n = static_cast<size_t>(tw.shape[0]);
  p.k = static_cast<size_t>(tw.shape[1]);
  p.w = ops::pack_gemm_weights(tw.data.data(), b.empty() ? nullptr : tensor(m, b).data.data(), p.n, p.k, nr);
  return p;
}

Depthwise make_depthwise(const ModelContents& m, const std::string& prefix, int stride) {
  const TensorData& tw = tensor(m, prefix + ".weight");
  Depthwise d;
  d.c = static_cast<size_t>(tw.shape[0]);
  d.k = static_cast<int>(tw.shape[2]);
  d.stride = stride;
  d.w = ops::pack_dwconv_weights(tw.data.data(), d.c, d.k);
  d.bias = tensor(m, prefix + ".bias").data;
  return d;
}

size_t out_dim(size_t in, int k, int stride) { return (in + 2 * (k / 2) - k) / stride + 1; }

// "auto" fuses blocks whose expanded tensor has at least this many bytes,
// i.e. does not fit a 1 MiB L2.  First set at 3 MiB (fusion measured 10-30%
// faster per stage on M's stages 0-1, benchmarks/bench_fusion.py); lowered
// to 1 MiB after sweeping 3072/1500/1000/600/1 KiB on Zen 4 (2 x 12-20
// interleaved rounds, one process per model): 1 MiB also fuses XS stage 0,
// S stages 1 and 3, M stages 2-3 and L stage 2, and was 1.02-1.11x faster
// in median at 1 and 2 threads for every model in a run with a 50 ms gap
// before each forward (mins 0.95-1.08x); fusing everything (1 KiB) was no
// better and slower for M.
constexpr size_t kFuseMinBytes = 1u << 20;

size_t env_size(const char* name, size_t fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const unsigned long long n = std::strtoull(v, &end, 10);
  if (*end) throw InputError(std::string(name) + " must be a non-negative integer, got '" + v + "'");
  return static_cast<size_t>(n);
}

// An option's value: as given, else the environment variable's, else `def`.
std::string option_or_env(const std::string& given, const char* env, const char* def) {
  if (!given.empty()) return given;
  const char* v = std::getenv(env);
  return v && *v ? v : def;
}

}  // namespace

struct Network::Impl {
  ModelInfo info;
  const ops::KernelSet* ks = nullptr;
  std::unique_ptr<ops::ThreadPool> pool;
  bool pin = true;  // NetworkOptions::pin_threads, resolved
  std::mutex mu;  // serialises forward() and thread-count changes

  ops::AlignedBuffer stem_w;
  std::vector<float> stem_b;
  Depthwise stem_dw;
  Pointwise stem_pw;
  std::vector<std::vector<Block>> stages;
  DeconvLayer deconv[3];
  SepConv final_refined[2], final_raw[2];

  // fusion
  enum class Fuse { kAuto, kOn, kOff } fuse = Fuse::kAuto;
  size_t fuse_min_bytes = kFuseMinBytes;
  size_t fuse_halo_pct = 50;  // LITEPOSE_FUSE_HALO_PCT; see plan()
  size_t fuse_split_pct = 25;  // LITEPOSE_FUSE_SPLIT_PCT; see plan()
  ops::FusedIRTuning fuse_tuning;
  ops::FusedIRTrace fuse_trace;
  bool stem_fused = false;  // stem conv -> dw -> pw as one fused call (plan)
  bool tail_fused = false;  // the head's final layers as two fused calls (plan)
  bool deconv_wino = true;  // LITEPOSE_DECONV=winograd|direct

  // memory plan
  int plan_h = -1, plan_w = -1;
  ops::AlignedBuffer in, a, b, x[5], e, d, r[3], t, o4, o2, y, fscratch;
  size_t fscratch_per_thread = 0;

  bool profiling = false;
  std::vector<LayerTiming> timings;
  std::chrono::steady_clock::time_point forward_start;

  void load(const ModelContents& m, const NetworkOptions& opts);
  void plan(int h, int w);
  void forward_one(const float* x_nchw, int h, int w, float* out4, float* out2);

  double rel_ms(std::chrono::steady_clock::time_point t) const {
    return std::chrono::duration<double, std::milli>(t - forward_start).count();
  }

  template <typename Fn>
  void layer(const char* name_c, const std::string& name, const char* op, const char* kernel,
             std::vector<int> in_shape, std::vector<int> out_shape, double macs, Fn&& fn) {
    if (!profiling) {
      fn();
      return;
    }
    auto t0 = std::chrono::steady_clock::now();
    fn();
    auto t1 = std::chrono::steady_clock::now();
    LayerTiming lt;
    lt.start_ms = rel_ms(t0);
    for (const auto& sp : pool->take_spans()) lt.spans.push_back({sp.thread, rel_ms(sp.start), rel_ms(sp.end)});
    lt.name = name_c ? std::string(name_c) : name;
    lt.op = op;
    lt.kernel = kernel;
    lt.in_shape = std::move(in_shape);
    lt.out_shape = std::move(out_shape);
    lt.macs = macs;
    lt.ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
    timings.push_back(std::move(lt));
  }

  void fused_tail(int i, const float* refined, size_t rh, size_t rw, const float* raw, const float* skip,
                  float* out_nchw);
  // Winograd for deconvolution layers where it measured faster (litepose
  // profile, 1 thread, Zen 4, min ms direct -> Winograd): L 32x32 in,
  // co 64: 4.95 -> 3.71; L 64x64, co 40: 7.05 -> 4.45; L 128x128, co 32:
  // 9.7 -> 6.6; S 28x28, co 32: 1.21 -> 1.15; S 56x56, co 24: 1.45 -> 1.26;
  // XS 64x64, co 24: 1.29-1.52 -> 1.16-1.25; not on XS 16x16, co 16
  // (0.21 -> 0.24) and 32x32, co 24 (0.37-0.48 -> 0.45): few tiles per
  // row and few channels, the transforms do not pay off (measured before
  // tile rows were batched per GEMM).
  bool use_wino(const DeconvLayer& dl, size_t in_w) const {
    return deconv_wino && (dl.co >= 32 || in_w >= 48);
  }
  ops::DeconvPairWeights deconv_weights(const DeconvLayer& dl, size_t in_w) const {
    return {dl.w_refined.data(), dl.bias.data(), dl.w_raw.data(), use_wino(dl, in_w) ? dl.w_wino.data() : nullptr};
  }
  const char* deconv_kernel_name(const DeconvLayer& dl, size_t in_w) const {
    return use_wino(dl, in_w) ? ks->deconv_wino_name : ks->deconv_name;
  }
  void fused_block(const Block& blk, size_t ch, size_t cw, size_t cc, size_t oh, size_t ow, const float* src,
                   float* dst);
  // The stem as a fused block: conv rows are its "expand".
  ops::FusedIRParams stem_params(size_t H, size_t W) const {
    const size_t sh = H / 2, sw = W / 2;
    return {sh, sw, 3, stem_dw.c, sh, sw, stem_pw.n, 3, 1, false};
  }
  void run_fused(const ops::FusedIRParams& fp, const ops::FusedIRWeights& fw, const float* src, float* dst,
                 const std::string names[3], const char* kernels[3], const std::vector<int> in_s[3],
                 const std::vector<int> out_s[3], const double macs[3], bool split = false);
  // The head's last deconvolution and final layers (ops/fused_tail.h).
  // Level i = 2: deconv 2 -> final layers 1 (-> out2); i = 1: final
  // layers 0 on the given r[1] (-> out4).  rh x rw: deconv i's input.
  ops::FusedTailParams tail_params(int i, size_t rh, size_t rw) const;
  // Profiling rows of one fused call of n parts: the call's wall time
  // [t0, t1) split in proportion to the time its threads spent in each
  // part (fuse_trace); each row's spans are its part's real intervals.
  void record_fused_parts(std::chrono::steady_clock::time_point t0, std::chrono::steady_clock::time_point t1,
                          int n, const std::string names[], const char* const ops_[], const char* const kernels[],
                          const std::vector<int> in_s[], const std::vector<int> out_s[], const double macs[],
                          const char* prefix = "fused:");
};

void Network::Impl::load(const ModelContents& m, const NetworkOptions& opts) {
  info = m.info;
  ks = &ops::select_kernels(opts.isa);
  int threads = opts.num_threads;
  if (threads < 0) throw InputError("num_threads must be >= 1 (or 0 for the default), got " + std::to_string(threads));
  if (threads == 0) threads = ops::default_num_threads();
  const std::string pz = option_or_env(opts.pin_threads, "LITEPOSE_PIN_THREADS", "on");
  if (pz == "on" || pz == "1") pin = true;
  else if (pz == "off" || pz == "0") pin = false;
  else throw InputError("pin_threads must be 'on' or 'off' (or LITEPOSE_PIN_THREADS=1/0), got '" + pz + "'");
  pool = std::make_unique<ops::ThreadPool>(threads, pin);
  const size_t nr = ks->gemm_nr;

  const std::string fz = option_or_env(opts.fuse, "LITEPOSE_FUSE", "auto");
  if (fz == "auto") fuse = Fuse::kAuto;
  else if (fz == "on" || fz == "1") fuse = Fuse::kOn;
  else if (fz == "off" || fz == "0") fuse = Fuse::kOff;
  else throw InputError("fuse must be 'auto', 'on' or 'off' (or LITEPOSE_FUSE=1/0), got '" + fz + "'");
  fuse_min_bytes = env_size("LITEPOSE_FUSE_MIN_KB", kFuseMinBytes / 1024) * 1024;
  fuse_halo_pct = env_size("LITEPOSE_FUSE_HALO_PCT", fuse_halo_pct);
  fuse_split_pct = env_size("LITEPOSE_FUSE_SPLIT_PCT", fuse_split_pct);
  fuse_tuning.band_rows = env_size("LITEPOSE_FUSE_BAND", 0);
  fuse_tuning.slack_rows = env_size("LITEPOSE_FUSE_SLACK", fuse_tuning.slack_rows);
  fuse_tuning.chunks_per_thread = env_size("LITEPOSE_FUSE_CHUNKS", fuse_tuning.chunks_per_thread);
  fuse_tuning.cache_bytes = env_size("LITEPOSE_FUSE_CACHE_KB", fuse_tuning.cache_bytes / 1024) * 1024;
  fuse_tuning.recompute = env_size("LITEPOSE_FUSE_RECOMPUTE", 0) != 0;
  {
    const char* v = std::getenv("LITEPOSE_DECONV");
    const std::string dm = v && *v ? v : "winograd";
    if (dm != "winograd" && dm != "direct")
      throw InputError("LITEPOSE_DECONV must be 'winograd' or 'direct', got '" + dm + "'");
    deconv_wino = dm == "winograd" && ks->deconv_wino_in != nullptr;
  }

  const TensorData& sw = tensor(m, "first.0.0.weight");
  stem_w = ops::pack_conv_weights(sw.data.data(), static_cast<size_t>(sw.shape[0]), 3, 3);
  stem_b = tensor(m, "first.0.0.bias").data;
  stem_dw = make_depthwise(m, "first.1.0", 1);
  stem_pw = make_pointwise(m, "first.2.weight", "first.2.bias", nr);

  size_t inp = static_cast<size_t>(info.input_channel);
  for (size_t s = 0; s < info.stages.size(); ++s) {
    const StageInfo& st = info.stages[s];
    std::vector<Block> blocks;
    for (int bi = 0; bi < st.num_blocks; ++bi) {
      Block blk;
      blk.name = "stage." + std::to_string(s) + "." + std::to_string(bi);
      const int stride = bi == 0 ? st.stride : 1;
      blk.expand = make_pointwise(m, blk.name + ".inv.0.weight", blk.name + ".inv.0.bias", nr);
      blk.dw = make_depthwise(m, blk.name + ".depth_conv.0", stride);
      blk.project = make_pointwise(m, blk.name + ".point_conv.0.weight", blk.name + ".point_conv.0.bias", nr);
      blk.residual = stride == 1 && inp == static_cast<size_t>(st.channels);
      inp = static_cast<size_t>(st.channels);
      blocks.push_back(std::move(blk));
    }
    stages.push_back(std::move(blocks));
  }
  for (int i = 0; i < 3; ++i) {
    const std::string n = std::to_string(i);
    const TensorData& wr = tensor(m, "deconv_refined." + n + ".weight");
    const TensorData& ww = tensor(m, "deconv_raw." + n + ".weight");
    DeconvLayer& dl = deconv[i];
    dl.ci_refined = static_cast<size_t>(wr.shape[0]);
    dl.ci_raw = static_cast<size_t>(ww.shape[0]);
    dl.co = static_cast<size_t>(wr.shape[1]);
    dl.w_refined = ops::pack_deconv_weights(wr.data.data(), dl.ci_refined, dl.co);
    dl.w_raw = ops::pack_deconv_weights(ww.data.data(), dl.ci_raw, dl.co);
    dl.bias = tensor(m, "deconv_bnrelu." + n + ".bias").data;
    if (deconv_wino)
      dl.w_wino =
          ops::pack_deconv_wino_weights(dl.w_refined.data(), dl.ci_refined, dl.w_raw.data(), dl.ci_raw, dl.co, nr);
  }
  for (int i = 0; i < 2; ++i) {
    const std::string n = std::to_string(i);
    for (auto [sep, prefix] : {std::pair<SepConv*, std::string>{&final_refined[i], "final_refined." + n},
                               std::pair<SepConv*, std::string>{&final_raw[i], "final_raw." + n}}) {
      sep->dw = make_depthwise(m, prefix + ".conv.0", 1);
      sep->point = make_pointwise(m, prefix + ".conv.3.weight", "", nr);
    }
  }
}

void Network::Impl::plan(int h, int w) {
  if (plan_h == h && plan_w == w) return;
  const size_t H = static_cast<size_t>(h), W = static_cast<size_t>(w);
  const size_t K = static_cast<size_t>(info.num_joints);
  in.resize(H * W * 3);
  size_t sh = H / 2, sw = W / 2;
  size_t max_e = 0, max_d = 0, max_y = 0, max_f = 0;
  // Threads split a fused block's output rows into contiguous runs, one per
  // thread, and each run expands again the k - s hidden rows (the halo) that
  // it shares with the run above.  "auto" leaves a block unfused when that
  // halo exceeds fuse_halo_pct of the hidden rows a thread's run needs
  // anyway: with many threads each thread's share of the unfused tensor is
  // small enough for its own cache.  (At 2 threads every block that "auto"
  // fuses passes.)
  const size_t T = static_cast<size_t>(pool->num_threads());
  auto halo_within = [&](size_t oh, int k, int s, size_t pct) {
    const size_t rows = oh * static_cast<size_t>(s) / T;  // hidden rows per chunk
    return T == 1 || static_cast<size_t>(k - s) * 100 <= pct * rows;
  };
  // Where that halo exceeds fuse_split_pct, a block whose hidden channels
  // make at least two GEMM panels per thread splits them between the threads
  // instead (ops::fused_ir_channel_split: no halo, but the depthwise output
  // goes through memory once).
  // The stem is fused unless fusion is off: measured faster at every size
  // (litepose profile, stem rows, min / median ms of 15-30 runs, Zen 4:
  // S 448 1 thread 2.99 / 4.06 -> 2.19 / 2.75; XS 256 1 thread
  // 0.86 / 1.11 -> 0.71 / 0.88, 2 threads 0.47 / 0.65 -> 0.43 / 0.54), and
  // its two full-size intermediates (a, b) leave the memory plan.
  stem_fused = fuse != Fuse::kOff;
  if (stem_fused) {
    const ops::FusedIRParams fp = stem_params(H, W);
    max_f = ops::fused_ir_scratch_floats(fp, ops::fused_ir_tiling(fp, 1, fuse_tuning));
  }
  a.resize(stem_fused ? 0 : sh * sw * stem_dw.c);
  b.resize(stem_fused ? 0 : sh * sw * stem_dw.c);
  x[0].resize(sh * sw * stem_pw.n);
  size_t ch = sh, cw = sw, cc = stem_pw.n;
  for (size_t s = 0; s < stages.size(); ++s) {
    for (Block& blk : stages[s]) {
      const size_t hid = blk.expand.n;
      size_t oh = out_dim(ch, blk.dw.k, blk.dw.stride), ow = out_dim(cw, blk.dw.k, blk.dw.stride);
      const bool big = ch * cw * hid * sizeof(float) >= fuse_min_bytes;
      blk.split = fuse != Fuse::kOff && (fuse == Fuse::kOn || big) && T > 1 &&
                  (hid + ks->gemm_nr - 1) / ks->gemm_nr >= 2 * T &&
                  !halo_within(oh, blk.dw.k, blk.dw.stride, fuse_split_pct);
      blk.fused = blk.split || fuse == Fuse::kOn ||
                  (fuse == Fuse::kAuto && big && halo_within(oh, blk.dw.k, blk.dw.stride, fuse_halo_pct));
      if (blk.fused) {
        const ops::FusedIRParams fp{ch, cw, cc, hid, oh, ow, blk.project.n, blk.dw.k, blk.dw.stride, blk.residual};
        max_f = std::max(max_f, ops::fused_ir_scratch_floats(fp, ops::fused_ir_tiling(fp, 1, fuse_tuning)));
        if (blk.split) max_d = std::max(max_d, oh * ow * hid);  // the depthwise output
      } else {
        max_e = std::max(max_e, ch * cw * hid);
        max_d = std::max(max_d, oh * ow * hid);
      }
      ch = oh;
      cw = ow;
      cc = blk.project.n;
    }
    x[s + 1].resize(ch * cw * cc);
    // destinations, last block first: it writes x[s+1]; a fused block
    // (after the first) reads the other buffer of the pair
    bool spare = false;
    for (size_t bi = stages[s].size(); bi-- > 0;) {
      Block& blk = stages[s][bi];
      blk.to_spare = spare;
      if (spare) max_y = std::max(max_y, x[s + 1].size());
      if (bi > 0 && blk.fused) spare = !spare;
    }
  }
  // The head's tail (final layers at 1/4 and 1/2 with the last
  // deconvolution) is fused unless fusion is off: r[2], t, o4 and o2 leave
  // the memory plan.
  tail_fused = fuse != Fuse::kOff;
  for (int i = 0; i < (tail_fused ? 2 : 3); ++i) {  // the unfused deconvolutions (ops::deconv_pair)
    const DeconvLayer& dl = deconv[i];
    const ops::DeconvPairParams dp =
        ops::deconv_pair_params(ch << i, cw << i, dl.ci_refined, dl.ci_raw, dl.co, 0.f, kInf);
    max_f = std::max(max_f, ops::deconv_pair_scratch_floats(dp));
  }
  if (tail_fused) {
    for (int i = 1; i < 3; ++i) {  // deconv i reads 1/16 of the input size x 2^i
      const ops::FusedTailParams tp = tail_params(i, ch << i, cw << i);
      max_f = std::max(max_f, ops::fused_tail_scratch_floats(tp, ops::fused_tail_tiling(tp, 1, 1)));
    }
  }
  e.resize(max_e);
  d.resize(max_d);
  y.resize(max_y);
  fscratch_per_thread = max_f;
  fscratch.resize(max_f * static_cast<size_t>(pool->num_threads()));
  size_t rh = ch, rw = cw;  // 1/16
  size_t max_t = 0;
  for (int i = 0; i < 3; ++i) {
    rh *= 2;
    rw *= 2;
    if (i == 2 && tail_fused) {
      r[i].resize(0);
      continue;
    }
    r[i].resize(rh * rw * deconv[i].co);
    if (i > 0 && !tail_fused) {
      const SepConv& fr = final_refined[i - 1];
      const SepConv& fw = final_raw[i - 1];
      max_t = std::max(max_t, rh * rw * std::max(fr.dw.c, fw.dw.c));
    }
  }
  t.resize(max_t);
  o4.resize(tail_fused ? 0 : (H / 4) * (W / 4) * 2 * K);
  o2.resize(tail_fused ? 0 : (H / 2) * (W / 2) * K);
  plan_h = h;
  plan_w = w;
}

void Network::Impl::forward_one(const float* x_nchw, int h, int w, float* out4, float* out2) {
  const size_t H = static_cast<size_t>(h), W = static_cast<size_t>(w);
  ops::ThreadPool& tp = *pool;
  const ops::KernelSet& k = *ks;
  auto shape = [](size_t hh, size_t ww, size_t cc) {
    return std::vector<int>{static_cast<int>(hh), static_cast<int>(ww), static_cast<int>(cc)};
  };
  bool finite = true;
  layer("input.to_nhwc", "", "layout", "nchw-to-nhwc", {3, h, w}, shape(H, W, 3), 0,
        [&] { finite = ops::nchw_to_nhwc(tp, x_nchw, 3, H, W, in.data()); });
  if (!finite) {
    size_t i = 0;
    while (std::isfinite(x_nchw[i])) ++i;
    throw NonFiniteInput{i};
  }

  // ---- stem
  const size_t SC = stem_dw.c;
  size_t sh = H / 2, sw = W / 2;
  kernels::ConvParams cp{H, W, 3, SC, sh, sw, 3, 2, 1, 0.f, 6.f};
  const double stem_macs[3] = {double(sh * sw * SC * 27), double(sh * sw * SC * 9), double(sh * sw * SC * stem_pw.n)};
  if (stem_fused) {
    ops::FusedIRWeights fw{nullptr, stem_dw.w.data(), stem_dw.bias.data(), stem_pw.w.data()};
    fw.conv = &cp;
    fw.conv_w = stem_w.data();
    fw.conv_b = stem_b.data();
    const std::string names[3] = {"first.0", "first.1", "first.2"};
    const char* kern[3] = {k.conv_name, k.dwconv_name, k.gemm_name};
    const std::vector<int> in_s[3] = {shape(H, W, 3), shape(sh, sw, SC), shape(sh, sw, SC)};
    const std::vector<int> out_s[3] = {shape(sh, sw, SC), shape(sh, sw, SC), shape(sh, sw, stem_pw.n)};
    run_fused(stem_params(H, W), fw, in.data(), x[0].data(), names, kern, in_s, out_s, stem_macs);
  } else {
    layer("first.0", "", "conv", k.conv_name, shape(H, W, 3), shape(sh, sw, SC), stem_macs[0],
          [&] { ops::conv(k, tp, cp, in.data(), stem_w.data(), stem_b.data(), a.data()); });
    kernels::DwConvParams dp{sh, sw, SC, sh, sw, 3, 1, 1, 0.f, 6.f};
    layer("first.1", "", "dwconv", k.dwconv_name, shape(sh, sw, SC), shape(sh, sw, SC), stem_macs[1],
          [&] { ops::dwconv(k, tp, dp, a.data(), stem_dw.w.data(), stem_dw.bias.data(), b.data()); });
    layer("first.2", "", "gemm", k.gemm_name, shape(sh, sw, SC), shape(sh, sw, stem_pw.n), stem_macs[2], [&] {
      ops::conv1x1(k, tp, sh * sw, SC, stem_pw.n, b.data(), stem_pw.w.data(), x[0].data(), nullptr, -kInf, kInf);
    });
  }

  // ---- stages
  size_t ch = sh, cw = sw, cc = stem_pw.n;
  for (size_t s = 0; s < stages.size(); ++s) {
    for (size_t bi = 0; bi < stages[s].size(); ++bi) {
      const Block& blk = stages[s][bi];
      const float* src = bi == 0 ? x[s].data() : stages[s][bi - 1].to_spare ? y.data() : x[s + 1].data();
      float* dst = blk.to_spare ? y.data() : x[s + 1].data();
      const size_t hid = blk.expand.n;
      const size_t oh = out_dim(ch, blk.dw.k, blk.dw.stride), ow = out_dim(cw, blk.dw.k, blk.dw.stride);
      const size_t co = blk.project.n;
      if (blk.fused) {
        fused_block(blk, ch, cw, cc, oh, ow, src, dst);
        ch = oh;
        cw = ow;
        cc = co;
        continue;
      }
      layer(nullptr, blk.name + ".inv", "gemm", k.gemm_name, shape(ch, cw, cc), shape(ch, cw, hid),
            double(ch * cw * cc * hid), [&] {
              ops::conv1x1(k, tp, ch * cw, cc, hid, src, blk.expand.w.data(), e.data(), nullptr, 0.f, 6.f);
            });
      kernels::DwConvParams bp{ch, cw, hid, oh, ow, blk.dw.k, blk.dw.stride, blk.dw.k / 2, 0.f, 6.f};
      layer(nullptr, blk.name + ".depth_conv", "dwconv", k.dwconv_name, shape(ch, cw, hid), shape(oh, ow, hid),
            double(oh * ow * hid * blk.dw.k * blk.dw.k),
            [&] { ops::dwconv(k, tp, bp, e.data(), blk.dw.w.data(), blk.dw.bias.data(), d.data()); });
      layer(nullptr, blk.name + ".point_conv", "gemm", k.gemm_name, shape(oh, ow, hid), shape(oh, ow, co),
            double(oh * ow * hid * co), [&] {
              ops::conv1x1(k, tp, oh * ow, hid, co, d.data(), blk.project.w.data(), dst,
                           blk.residual ? src : nullptr, -kInf, kInf);
            });
      ch = oh;
      cw = ow;
      cc = co;
    }
  }

  // ---- fusion deconv head
  // sizes of x[0..4]: x[0] at 1/2, x[1] 1/4, x[2] 1/8, x[3] 1/16, x[4] 1/16
  const size_t xh[5] = {H / 2, H / 4, H / 8, H / 16, H / 16}, xw[5] = {W / 2, W / 4, W / 8, W / 16, W / 16};
  const size_t xc[5] = {stem_pw.n, stages[0].back().project.n, stages[1].back().project.n,
                        stages[2].back().project.n, stages[3].back().project.n};
  const float* refined = x[4].data();
  size_t rh = xh[4], rw = xw[4];
  for (int i = 0; i < 3; ++i) {
    const DeconvLayer& dl = deconv[i];
    const int raw_idx = 3 - i;  // x_list[-i-2]
    const std::string n = std::to_string(i);
    if (i == 2 && tail_fused) {  // deconv 2 -> final layers 1, in row bands
      fused_tail(2, refined, rh, rw, x[raw_idx].data(), x[0].data(), out2);
      break;
    }
    // deconv_refined.i(refined) + deconv_raw.i(x_list[-i-2]), ReLU: both
    // inputs are rh x rw
    const ops::DeconvPairParams dp = ops::deconv_pair_params(rh, rw, dl.ci_refined, dl.ci_raw, dl.co, 0.f, kInf);
    layer(nullptr, "deconv." + n, "deconv", deconv_kernel_name(dl, rw), shape(rh, rw, dl.ci_refined + dl.ci_raw),
          shape(2 * rh, 2 * rw, dl.co), double(4 * rh * rw * (dl.ci_refined + dl.ci_raw) * dl.co * 4), [&] {
            ops::deconv_pair(k, tp, dp, deconv_weights(dl, rw), refined, x[raw_idx].data(), r[i].data(),
                             fscratch.data());
          });
    refined = r[i].data();
    rh *= 2;
    rw *= 2;
    if (i == 0) continue;
    // final layer i-1: sepconv(refined) + sepconv(x_list[-i-3])
    const int skip_idx = 2 - i;
    if (tail_fused) {  // i == 1: final layers 0 in row bands, r[1] given
      fused_tail(1, refined, rh / 2, rw / 2, nullptr, x[skip_idx].data(), out4);
      continue;
    }
    float* o = i == 1 ? o4.data() : o2.data();
    const SepConv* seps[2] = {&final_refined[i - 1], &final_raw[i - 1]};
    const float* srcs[2] = {refined, x[skip_idx].data()};
    const char* names[2] = {"final_refined.", "final_raw."};
    for (int j = 0; j < 2; ++j) {
      const SepConv& sc = *seps[j];
      const std::string nm = names[j] + std::to_string(i - 1);
      kernels::DwConvParams fp{rh, rw, sc.dw.c, rh, rw, sc.dw.k, 1, sc.dw.k / 2, 0.f, kInf};
      layer(nullptr, nm + ".conv.0", "dwconv", k.dwconv_name, shape(rh, rw, sc.dw.c), shape(rh, rw, sc.dw.c),
            double(rh * rw * sc.dw.c * sc.dw.k * sc.dw.k),
            [&] { ops::dwconv(k, tp, fp, srcs[j], sc.dw.w.data(), sc.dw.bias.data(), t.data()); });
      layer(nullptr, nm + ".conv.3", "gemm", k.gemm_name, shape(rh, rw, sc.dw.c), shape(rh, rw, sc.point.n),
            double(rh * rw * sc.dw.c * sc.point.n), [&] {
              ops::conv1x1(k, tp, rh * rw, sc.dw.c, sc.point.n, t.data(), sc.point.w.data(), o, j ? o : nullptr,
                           -kInf, kInf);
            });
    }
  }
  const size_t K = static_cast<size_t>(info.num_joints);
  if (!tail_fused)
    layer("output.to_nchw", "", "layout", "nhwc-to-nchw", shape(H / 4, W / 4, 2 * K),
          {static_cast<int>(2 * K), h / 4, w / 4}, 0, [&] {
            ops::nhwc_to_nchw(tp, o4.data(), H / 4, W / 4, 2 * K, out4);
            ops::nhwc_to_nchw(tp, o2.data(), H / 2, W / 2, K, out2);
          });
  (void)xc;
}

// One fused inverted residual block (see the memory plan above).
void Network::Impl::fused_block(const Block& blk, size_t ch, size_t cw, size_t cc, size_t oh, size_t ow,
                                const float* src, float* dst) {
  const ops::KernelSet& k = *ks;
  const size_t hid = blk.expand.n, co = blk.project.n;
  const ops::FusedIRParams fp{ch, cw, cc, hid, oh, ow, co, blk.dw.k, blk.dw.stride, blk.residual};
  const ops::FusedIRWeights fw{blk.expand.w.data(), blk.dw.w.data(), blk.dw.bias.data(), blk.project.w.data()};
  auto shape = [](size_t hh, size_t ww, size_t c) {
    return std::vector<int>{static_cast<int>(hh), static_cast<int>(ww), static_cast<int>(c)};
  };
  const std::string names[3] = {blk.name + ".inv", blk.name + ".depth_conv", blk.name + ".point_conv"};
  const char* kern[3] = {k.gemm_name, k.dwconv_name, k.gemm_name};
  const std::vector<int> in_s[3] = {shape(ch, cw, cc), shape(ch, cw, hid), shape(oh, ow, hid)};
  const std::vector<int> out_s[3] = {shape(ch, cw, hid), shape(oh, ow, hid), shape(oh, ow, co)};
  const double macs[3] = {double(ch * cw * cc * hid), double(oh * ow * hid * blk.dw.k * blk.dw.k),
                          double(oh * ow * hid * co)};
  run_fused(fp, fw, src, dst, names, kern, in_s, out_s, macs, blk.split);
}

// A fused call (block or stem).  Profiling: three rows, the call's wall time
// split in proportion to the time its threads spent in each part; each
// row's spans are its part's real per-band intervals.
void Network::Impl::run_fused(const ops::FusedIRParams& fp, const ops::FusedIRWeights& fw, const float* src,
                              float* dst, const std::string names[3], const char* kernels[3],
                              const std::vector<int> in_s[3], const std::vector<int> out_s[3],
                              const double macs[3], bool split) {
  const int T = pool->num_threads();
  const ops::FusedIRTiling tl = split ? ops::fused_ir_split_tiling(fp, T, fuse_tuning, ks->gemm_nr)
                                      : ops::fused_ir_tiling(fp, T, fuse_tuning);
  const size_t need = ops::fused_ir_scratch_floats(fp, tl) * static_cast<size_t>(T);
  if (fscratch.size() < need) fscratch.resize(need);  // only after set_num_threads()
  auto run = [&](ops::FusedIRTrace* trace) {
    if (split)
      ops::fused_ir_channel_split(*ks, *pool, fp, fw, tl, src, dst, d.data(), fscratch.data(), trace);
    else
      ops::fused_inverted_residual(*ks, *pool, fp, fw, tl, src, dst, fscratch.data(), trace);
  };
  if (!profiling) {
    run(nullptr);
    return;
  }
  const auto t0 = std::chrono::steady_clock::now();
  run(&fuse_trace);
  const auto t1 = std::chrono::steady_clock::now();
  const char* const ops_[3] = {fw.conv ? "conv" : "gemm", "dwconv", "gemm"};
  record_fused_parts(t0, t1, 3, names, ops_, kernels, in_s, out_s, macs, split ? "split:" : "fused:");
}

void Network::Impl::record_fused_parts(std::chrono::steady_clock::time_point t0,
                                       std::chrono::steady_clock::time_point t1, int n, const std::string names[],
                                       const char* const ops_[], const char* const kernels[],
                                       const std::vector<int> in_s[], const std::vector<int> out_s[],
                                       const double macs[], const char* prefix) {
  pool->take_spans();  // the per-part spans below replace the per-task ones
  std::vector<double> part_ms(static_cast<size_t>(n), 0.0);
  for (const auto& th : fuse_trace.spans)
    for (const auto& sp : th)
      part_ms[static_cast<size_t>(sp.part)] += std::chrono::duration<double, std::milli>(sp.end - sp.start).count();
  double total = 0;
  for (double v : part_ms) total += v;
  const double wall = std::chrono::duration<double, std::milli>(t1 - t0).count();
  double start = rel_ms(t0);
  for (int i = 0; i < n; ++i) {
    if (names[i].empty()) continue;  // a part this call does not run
    LayerTiming lt;
    lt.name = names[i];
    lt.op = ops_[i];
    lt.kernel = std::string(prefix) + kernels[i];
    lt.in_shape = in_s[i];
    lt.out_shape = out_s[i];
    lt.macs = macs[i];
    lt.ms = total > 0 ? wall * part_ms[static_cast<size_t>(i)] / total : wall / n;
    lt.start_ms = start;
    start += lt.ms;
    for (size_t th = 0; th < fuse_trace.spans.size(); ++th)
      for (const auto& sp : fuse_trace.spans[th])
        if (sp.part == i) lt.spans.push_back({static_cast<int>(th), rel_ms(sp.start), rel_ms(sp.end)});
    timings.push_back(std::move(lt));
  }
}

ops::FusedTailParams Network::Impl::tail_params(int i, size_t rh, size_t rw) const {
  const DeconvLayer& dl = deconv[i];
  const SepConv& fr = final_refined[i - 1];
  const SepConv& fs = final_raw[i - 1];
  const size_t H = 2 * rh, W = 2 * rw;
  ops::FusedTailParams p{};
  p.deconv = ops::deconv_pair_params(rh, rw, dl.ci_refined, dl.ci_raw, dl.co, 0.f, kInf);
  p.dw_r = {H, W, fr.dw.c, H, W, fr.dw.k, 1, fr.dw.k / 2, 0.f, kInf};
  p.dw_s = {H, W, fs.dw.c, H, W, fs.dw.k, 1, fs.dw.k / 2, 0.f, kInf};
  p.n = fr.point.n;
  p.r_given = i < 2;
  return p;
}

// The head's tail in row bands (ops/fused_tail.h), each band transposed into
// the NCHW output: level 2 = deconv_refined.2 + deconv_raw.2 ->
// final_refined.1, final_raw.1 -> out2; level 1 = final_refined.0 on the
// given r[1], final_raw.0 -> out4.  Profiled as those layers plus
// output<4|2>.to_nchw.
void Network::Impl::fused_tail(int i, const float* refined, size_t rh, size_t rw, const float* raw,
                               const float* skip, float* out_nchw) {
  const ops::FusedTailParams p = tail_params(i, rh, rw);
  const DeconvLayer& dl = deconv[i];
  const SepConv& fr = final_refined[i - 1];
  const SepConv& fs = final_raw[i - 1];
  const bool given = p.r_given;
  const ops::FusedTailWeights w{given ? ops::DeconvPairWeights{} : deconv_weights(dl, rw),
                                fr.dw.w.data(),
                                fr.dw.bias.data(),
                                fr.point.w.data(),
                                fs.dw.w.data(),
                                fs.dw.bias.data(),
                                fs.point.w.data()};
  const ops::FusedTailTiling tl = ops::fused_tail_tiling(p, pool->num_threads(), fuse_tuning.chunks_per_thread);
  const size_t need = ops::fused_tail_scratch_floats(p, tl) * static_cast<size_t>(pool->num_threads());
  if (fscratch.size() < need) fscratch.resize(need);  // only after set_num_threads()
  if (!profiling) {
    ops::fused_tail(*ks, *pool, p, w, tl, refined, raw, skip, out_nchw, fscratch.data(), nullptr);
    return;
  }
  const auto t0 = std::chrono::steady_clock::now();
  ops::fused_tail(*ks, *pool, p, w, tl, refined, raw, skip, out_nchw, fscratch.data(), &fuse_trace);
  const auto t1 = std::chrono::steady_clock::now();
  const size_t H = 2 * rh, W = 2 * rw, C = dl.co, CS = fs.dw.c, N = p.n;
  auto shape = [](size_t hh, size_t ww, size_t c) {
    return std::vector<int>{static_cast<int>(hh), static_cast<int>(ww), static_cast<int>(c)};
  };
  const std::string n = std::to_string(i), f = std::to_string(i - 1);
  // parts without a name (the deconvolutions of level 1) have no row
  const std::string names[7] = {given ? "" : "deconv." + n,
                                "",
                                "final_refined." + f + ".conv.0",
                                "final_refined." + f + ".conv.3",
                                "final_raw." + f + ".conv.0",
                                "final_raw." + f + ".conv.3",
                                given ? "output4.to_nchw" : "output2.to_nchw"};
  const char* const ops_[7] = {"deconv", "deconv", "dwconv", "gemm", "dwconv", "gemm", "layout"};
  const ops::KernelSet& k = *ks;
  const char* const kern[7] = {deconv_kernel_name(dl, rw), k.deconv_name, k.dwconv_name, k.gemm_name,
                               k.dwconv_name, k.gemm_name,   "nhwc-to-nchw"};
  const std::vector<int> in_s[7] = {shape(rh, rw, dl.ci_refined + dl.ci_raw), shape(rh, rw, dl.ci_raw), shape(H, W, C),
                                    shape(H, W, C),               shape(H, W, CS),           shape(H, W, CS),
                                    shape(H, W, N)};
  const std::vector<int> out_s[7] = {
      shape(H, W, C), shape(H, W, C), shape(H, W, C), shape(H, W, N), shape(H, W, CS), shape(H, W, N),
      {static_cast<int>(N), static_cast<int>(H), static_cast<int>(W)}};
  const double kr = double(fr.dw.k * fr.dw.k), ksk = double(fs.dw.k * fs.dw.k);
  const double macs[7] = {double(4 * rh * rw * (dl.ci_refined + dl.ci_raw) * dl.co * 4), 0.0,
                          double(H * W * C) * kr, double(H * W * C * N), double(H * W * CS) * ksk,
                          double(H * W * CS * N), 0.0};
  record_fused_parts(t0, t1, 7, names, ops_, kern, in_s, out_s, macs);
}

Network::Network(const std::string& path, const NetworkOptions& opts) : impl_(new Impl) {
  impl_->load(read_model_file(path), opts);
}

Network::Network(const void* data, size_t size, const NetworkOptions& opts) : impl_(new Impl) {
  impl_->load(parse_model(static_cast<const uint8_t*>(data), size, "<memory>"), opts);
}

Network::~Network() = default;

const ModelInfo& Network::info() const { return impl_->info; }
int Network::num_threads() const { return impl_->pool->num_threads(); }
void Network::set_num_threads(int n) {
  if (n < 1) throw InputError("num_threads must be >= 1, got " + std::to_string(n));
  std::lock_guard<std::mutex> lk(impl_->mu);
  impl_->pool = std::make_unique<ops::ThreadPool>(n, impl_->pin);
  impl_->plan_h = impl_->plan_w = -1;  // which blocks "auto" fuses depends on the thread count
}
void Network::wake(double max_ms) {
  if (!(max_ms >= 0) || max_ms > 1000)
    throw InputError("wake: max_ms must be in [0, 1000], got " + std::to_string(max_ms));
  // a running forward() holds the mutex: its threads are awake already
  std::unique_lock<std::mutex> lk(impl_->mu, std::try_to_lock);
  if (lk.owns_lock())
    impl_->pool->wake(std::chrono::microseconds(static_cast<long long>(max_ms * 1000)));
}
std::string Network::isa() const { return impl_->ks->isa; }
std::vector<int> Network::pinned_cpus() const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  return impl_->pool->cpus();
}

std::vector<std::pair<std::string, std::string>> Network::kernels() const {
  const ops::KernelSet& k = *impl_->ks;
  std::vector<std::pair<std::string, std::string>> v = {
      {"conv", k.conv_name}, {"dwconv", k.dwconv_name}, {"gemm", k.gemm_name}, {"deconv", k.deconv_name}};
  if (impl_->deconv_wino) v.emplace_back("deconv_winograd", k.deconv_wino_name);  // layers that take it: see use_wino
  return v;
}

void Network::check_input_size(int h, int w) {
  if (h <= 0 || w <= 0 || h % 16 != 0 || w % 16 != 0)
    throw InputError("input height and width must be positive multiples of 16, got " + std::to_string(h) + " x " +
                     std::to_string(w));
  if (static_cast<long long>(h) * w > 4096LL * 4096LL)
    throw InputError("input of " + std::to_string(h) + " x " + std::to_string(w) +
                     " is larger than the supported 4096 x 4096 pixels");
}

void Network::forward(const float* x, int n, int h, int w, float* out4, float* out2) {
  if (n < 1) throw InputError("batch size must be >= 1, got " + std::to_string(n));
  check_input_size(h, w);
  const size_t per_in = 3 * static_cast<size_t>(h) * w;
  std::lock_guard<std::mutex> lk(impl_->mu);
  impl_->plan(h, w);
  impl_->timings.clear();
  impl_->pool->set_tracing(impl_->profiling);
  impl_->pool->take_spans();
  const ops::ThreadPool::CallerBinding bind(*impl_->pool);  // when pinning: this thread on the pool's first CPU
  impl_->forward_start = std::chrono::steady_clock::now();
  const size_t K = static_cast<size_t>(impl_->info.num_joints);
  const size_t per4 = 2 * K * (h / 4) * (w / 4), per2 = K * (h / 2) * (w / 2);
  for (int i = 0; i < n; ++i) {
    try {
      impl_->forward_one(x + i * per_in, h, w, out4 + i * per4, out2 + i * per2);
    } catch (const NonFiniteInput& e) {  // checked while the input is laid out
      throw InputError("input holds a non-finite value (NaN or Inf) at flat index " +
                       std::to_string(static_cast<size_t>(i) * per_in + e.index));
    }
  }
}

void Network::set_profiling(bool on) {
  std::lock_guard<std::mutex> lk(impl_->mu);
  impl_->profiling = on;
}

std::vector<LayerTiming> Network::last_timings() const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  return impl_->timings;
}

size_t Network::activation_bytes(int h, int w) const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  check_input_size(h, w);
  impl_->plan(h, w);
  size_t total = 0;
  for (auto* buf : {&impl_->in, &impl_->a, &impl_->b, &impl_->e, &impl_->d, &impl_->t, &impl_->o4, &impl_->o2,
                    &impl_->y, &impl_->fscratch})
    total += buf->size();
  for (auto& buf : impl_->x) total += buf.size();
  for (auto& buf : impl_->r) total += buf.size();
  return total * sizeof(float);
}

}  // namespace litepose
