// litepose::Network — the LitePose network on the CPU, from a .lpm model file.
//
// Input and outputs are NCHW float32, exactly like the PyTorch model:
//   x     [n][3][h][w]          normalised RGB, h and w multiples of 16
//   out4  [n][2K][h/4][w/4]     K heatmaps then K tag maps (1/4 resolution)
//   out2  [n][K][h/2][w/2]      K heatmaps (1/2 resolution)
// Internally activations are NHWC (channel innermost).
//
// One Network may be shared by threads: forward() calls are serialised by an
// internal mutex (each call itself runs on the network's thread pool).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "litepose/error.h"

namespace litepose {

struct StageInfo {
  int num_blocks = 0, stride = 1, channels = 0;
  std::vector<int> expansion, kernel;  // per block
};

struct ModelInfo {
  std::string arch;         // "XS", "S", "M", "L" or "custom"
  std::string dataset;      // "crowdpose", "coco" or "custom"
  int input_size = 0;       // the training input size (short side)
  int num_joints = 0;       // K
  int input_channel = 0;    // stem output channels
  int stem_channels = 32;
  std::vector<StageInfo> stages;
  std::vector<int> deconv;  // 3 deconv widths
  uint32_t format_version = 0;
};

struct NetworkOptions {
  int num_threads = 0;      // 0: default (LITEPOSE_NUM_THREADS or hardware)
  std::string isa;          // "" / "auto": best available; else "scalar", "avx2", "avx512f", "neon"
  // Inverted residual blocks computed in row bands, the expanded tensor kept
  // in cache (bit-identical results either way): "" (LITEPOSE_FUSE, else
  // "auto"), "auto" (blocks where it is measured to win), "on" (every
  // block), "off" (none: expand, depthwise and project as separate layers).
  // Unless "off", the stem and the head's full-resolution tail (last
  // deconvolution -> final layers) run in row bands too.
  std::string fuse;
  // Thread pinning (num_threads >= 2): "" (LITEPOSE_PIN_THREADS, else
  // "on"), "on" (each pool thread bound to its own allowed CPU, the calling
  // thread to the first for the duration of forward(); skipped when the
  // process may use fewer CPUs than num_threads), "off".
  std::string pin_threads;
};

// Per-layer timing record (filled when profiling is on).
struct LayerTiming {
  std::string name;        // checkpoint module name, e.g. "stage.2.4.depth_conv"
  std::string op;          // "conv", "dwconv", "gemm", "deconv", ...
  std::string kernel;      // implementation name, e.g. "f32-gemm-4x16-avx2"
  std::vector<int> in_shape, out_shape;  // NHWC without batch: h, w, c
  double macs = 0;
  double ms = 0;           // wall time of the layer
  double start_ms = 0;     // start, relative to the start of forward()
  struct Span {
    int thread;            // 0 = the calling thread, 1.. = pool workers
    double start_ms, end_ms;
  };
  std::vector<Span> spans; // the layer's work items per thread
};

class Network {
 public:
  explicit Network(const std::string& path, const NetworkOptions& opts = {});
  // Load from bytes already in memory (same format as the file).
  Network(const void* data, size_t size, const NetworkOptions& opts = {});
  ~Network();
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  const ModelInfo& info() const;
  int num_threads() const;
  void set_num_threads(int n);
  std::string isa() const;
  // CPUs the pool's threads are bound to (thread 0 = the caller during
  // forward()); empty when not pinned.
  std::vector<int> pinned_cpus() const;
  // Kernel implementation chosen per op family ("gemm" -> name, ...;
  // "deconv_winograd": the transforms of the Winograd deconvolution, when on).
  std::vector<std::pair<std::string, std::string>> kernels() const;

  // A forward() is coming within about max_ms: wakes the pool's idle
  // threads now, and they spin (rather than sleep) until it starts or
  // max_ms has passed.  Call it when a frame arrives, before preparing the
  // input, so that waking an idle core (up to milliseconds on a VM) overlaps
  // that work instead of delaying the first layers.  Returns at once; does
  // nothing while a forward() is running or with one thread.  PoseEstimator
  // calls it before preprocessing.
  void wake(double max_ms = 10.0);

  // Shapes of the two outputs for an input of h x w.
  static void check_input_size(int h, int w);

  // Runs the network on n images.  out4 and out2 must hold n*2K*(h/4)*(w/4)
  // and n*K*(h/2)*(w/2) floats.  Throws InputError on a bad size or a
  // non-finite input value.
  void forward(const float* x, int n, int h, int w, float* out4, float* out2);

  // Profiling: when on, forward() records one LayerTiming per layer.
  void set_profiling(bool on);
  std::vector<LayerTiming> last_timings() const;

  // Bytes of activation memory the plan for an h x w input uses.
  size_t activation_bytes(int h, int w) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace litepose
