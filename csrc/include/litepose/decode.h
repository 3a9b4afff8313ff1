// litepose decoder: from the network's two outputs to people.
//
// Why this file exists: the official LitePose test pipeline (HigherHRNet's
// parser: lib/core/inference.py + lib/core/group.py + valid.py of
// mit-han-lab/litepose, cfg experiments/crowd_pose/mobilenet/mobile.yaml)
// is Python + torch + the `munkres` package and takes hundreds of
// milliseconds per frame.  This is the same algorithm in C++, step by step,
// as small pure functions over raw pointers so each step can be tested on
// literal grids.  The default reproduces the official results exactly,
// including its float rounding and tie rules:
//   * bilinear 2x upsampling = torch's CPU kernel bit for bit
//     (out = fma(a, w0, b * w1), first along W then along H);
//   * top-k = torch.topk on CPU = libstdc++ std::partial_sort (heap select),
//     whose order among equal values we replay exactly;
//   * tag means = numpy / torch float32 summation orders;
//   * assignment = a replica of `munkres` 1.1.4 (step-based Munkres, the
//     release current when LitePose was published), with its tie-breaking.
//
// Glossary (docs/decoder.md has the long form):
//   K   joints (14 CrowdPose, 17 COCO)        D   tag dims (1, or 2 with flip)
//   H,W network input size (multiples of 16)  h4,w4 = H/4,W/4   h2,w2 = H/2,W/2
//   out4  Kx2 maps at 1/4: [2K][h4][w4]  (K heatmaps, then K tag maps)
//   out2  heatmaps at 1/2:  [K][h2][w2]
//   M   max people per joint (30)             P   people found
// Coordinates in a Person are in input pixels, as the official parser gives
// them before get_final_preds: x = column + 0.5 +- 0.25.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "litepose/error.h"

namespace litepose {

// ---------------------------------------------------------------- datasets
// Flip index (FLIP_CONFIG of lib/dataset/transforms/build.py): joint j of the
// flipped image is joint flip_index[j] of the original.
const std::vector<int>& crowdpose_flip_index();  // 14
const std::vector<int>& coco_flip_index();       // 17
// By dataset name: "crowdpose" / "crowd_pose" or "coco"; throws InputError.
const std::vector<int>& flip_index_for(const std::string& dataset, int num_joints);
// Official grouping order (Params.joint_order in lib/core/group.py), first
// num_joints entries of [0,1,2,3,4,5,6,11,12,7,8,9,10,13,14,15,16].
std::vector<int> joint_order(int num_joints);

// ----------------------------------------------------------------- options
struct DecodeOptions {
  int max_num_people = 30;          // top-k per joint, and grouped people kept
  float detection_threshold = 0.1f;
  float tag_threshold = 1.0f;
  bool use_detection_val = true;    // cost = round(dist) * 100 - val
  bool ignore_too_much = false;
  int nms_kernel = 5;               // odd; padding kernel/2
  bool adjust = true;
  bool refine = true;
  // true (official, PROJECT2IMAGE): maps are resized to the input size and
  // decoded there.  false (fast): decode the merged 1/2 maps directly and
  // map coordinates up (x_in = 2 * x_half); not bit-equal to the official.
  bool project_to_input = true;
};

// ------------------------------------------------------------------ steps
// Bilinear resize by exactly 2 with align_corners=False, as torch
// F.interpolate(mode="bilinear") on CPU computes it (bit-exact).
void upsample2x(const float* in,  // CxHxW
                int c, int h, int w,
                float* out);      // Cx2Hx2W

// Merges one forward pass (get_multi_stage_outputs for one image): heat =
// (upsample2x(out4[:K]) + out2) / 2, tag = upsample2x(out4)[K:].  With
// `flipped`, the outputs came from the horizontally flipped input: maps are
// flipped back along W and joints permuted by flip_index.  Runs row by row
// (csrc/kernels/f32-decode: AVX2+FMA where the CPU has it, bit-identical to
// the scalar rows); the workspace is a few rows (3 * w2 floats), not maps.
size_t merge_outputs_workspace_size(int k, int h2, int w2);  // floats
void merge_outputs(const float* out4,  // 2Kx(h2/2)x(w2/2)
                   const float* out2,  // Kxh2xw2
                   int k, int h2, int w2, bool flipped,
                   const int* flip_index,  // K, used when flipped
                   float* heat,            // Kxh2xw2
                   float* tag,             // Kxh2xw2
                   float* workspace);      // merge_outputs_workspace_size()

// Max-pool NMS (kernel, stride 1, padding kernel/2) then top-k, as
// HeatmapParser.nms + torch.topk: values are det where det equals its window
// max, else det * 0.  Ties keep torch's (libstdc++ partial_sort) order when
// h*w >= 64*k; for smaller maps the order among equal values may differ.
// k is clamped to h*w.
void nms_topk(const float* det,  // HxW
              int h, int w, int kernel, int k,
              float* val_out,    // k
              int* idx_out);     // k (flat index y*w + x)

// Munkres (Hungarian) assignment, a replica of the `munkres` 1.1.4 Python
// package step by step (same scan order for zeros, same path rules), so ties
// come out as the official code sees them.  Non-square matrices are padded
// with zero rows/columns as munkres does.  Returns (row, col) pairs for the
// original rows, in row order.
std::vector<std::pair<int, int>> munkres_1_1_4(const double* cost,  // RxC
                                               int rows, int cols);

// Top-k candidates of all joints (HeatmapParser.top_k output for one image).
struct Candidates {
  int k = 0, m = 0, d = 1;     // joints, per joint, tag dims
  std::vector<float> val;      // KxM
  std::vector<int> x, y;       // KxM
  std::vector<float> tag;      // KxMxD
};

// One grouped person: K rows of (x, y, val, tag[0..D-1]) (official layout),
// and the person score (mean of the K vals after adjust, before refine).
struct Person {
  int k = 0, d = 1;           // joints, tag dims
  std::vector<float> joints;  // Kx(3+D)
  float score = 0.f;
  const float* joint(int j) const { return joints.data() + static_cast<size_t>(j) * (3 + d); }
};

// match_by_tag for one image (lib/core/group.py), float semantics as numpy:
// tag means float32 (pairwise sum for D=1, sequential for D=2), distances
// float64, people keyed by their first tag value like the official dict.
std::vector<Person> match_by_tag(const Candidates& cand, const DecodeOptions& opt);

// ---------------------------------------------------------- full decoders
// The merged maps of one image at 1/2 resolution (after merge_outputs), with
// the flipped pass when flip test is on.  Not owned.
struct HalfResMaps {
  int k = 0, h2 = 0, w2 = 0;
  const float* heat = nullptr;       // Kxh2xw2
  const float* tag = nullptr;        // Kxh2xw2
  const float* heat_flip = nullptr;  // Kxh2xw2 or null
  const float* tag_flip = nullptr;   // Kxh2xw2 or null
};

// HeatmapParser.parse on maps projected to the input size (2*h2 x 2*w2),
// without materialising the projected maps: values are computed where
// needed with the same arithmetic as the resized maps.  Bit-identical to the
// official parser; fast because it skips what cannot change the result
// (docs/decoder.md): top-k projects only 1/2-res blocks whose taps exceed
// detection_threshold (falling back to the full heap replay for a joint
// whose kept values above the threshold tie, for a negative threshold, and
// for maps holding NaN/inf), and refine visits tiles by decreasing bound.
// Scratch memory is per thread and kept between calls.
std::vector<Person> parse(const HalfResMaps& maps, const DecodeOptions& opt);

// Everything from raw network outputs: merge (+ flip), parse.  out4_flip /
// out2_flip are the outputs for the horizontally flipped input, or null.
// Throws InputError on bad sizes.
std::vector<Person> decode(const float* out4,       // 2Kx(H/4)x(W/4)
                           const float* out2,       // Kx(H/2)x(W/2)
                           const float* out4_flip,  // 2Kx(H/4)x(W/4) or null
                           const float* out2_flip,  // Kx(H/2)x(W/2) or null
                           int k, int height, int width,
                           const int* flip_index,   // K, needed with flip
                           const DecodeOptions& opt = {});

// A 2x3 affine transform, row major: x' = m[0]*x + m[1]*y + m[2], ...
struct Affine {
  double m[6] = {1, 0, 0, 0, 1, 0};
};

// get_final_preds: maps (x, y) of every joint with `to_image` (the inverse
// of the preprocessing warp, see preprocess.h) in place, float32 results as
// the official transform_preds stores them.
void transform_people(std::vector<Person>& people, const Affine& to_image);

// Wall time (ms) of each step of the most recent decode() / transform_people()
// on the calling thread, for profiling: merge (upsample + average the two
// outputs), peaks (NMS + top-k), matching (grouping by tag), adjust, refine,
// mapping (back to image pixels).  The half-resolution option reports its
// whole parse under `peaks`.  Costs a few clock reads per frame.
struct DecodeTimings {
  double merge = 0, peaks = 0, matching = 0, adjust = 0, refine = 0, mapping = 0;
};
const DecodeTimings& last_decode_timings();

}  // namespace litepose
