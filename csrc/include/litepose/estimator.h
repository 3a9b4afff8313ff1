// litepose::PoseEstimator: image in, people out -- preprocessing, the
// network (once, or twice with flip test), decoding, mapping back to image
// pixels.
//
// Why a class: the network is loaded once and shared; the options (flip,
// thresholds) are fixed at construction and validated there.
//
// Thread safety: operator() is const and keeps all scratch memory local to
// the call, so one estimator may be called from several threads at once;
// Network::forward serialises the network runs internally (its mutex), the
// pre- and post-processing of different calls overlap.  Results are the same
// as serial calls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "litepose/decode.h"
#include "litepose/error.h"
#include "litepose/network.h"
#include "litepose/preprocess.h"

namespace litepose {

struct EstimatorOptions {
  bool flip = false;          // flip test (the network runs on the mirrored input too)
  int input_size = 0;         // 0: the model's training input size
  std::string dataset;        // "" : the model's; picks the flip map
  DecodeOptions decode;       // official defaults
};

// One person: K x (x, y, score) in original image pixels, and the person
// score (mean joint score, official).
struct Pose {
  std::vector<float> keypoints;  // Kx3
  float score = 0.f;
};

class PoseEstimator {
 public:
  explicit PoseEstimator(std::shared_ptr<Network> network, const EstimatorOptions& opt = {});

  // image: h x w x 3 uint8, rows row_stride bytes apart, BGR (rgb=false) or
  // RGB.  Throws InputError on a null/empty/absurd image or a short stride.
  std::vector<Pose> operator()(const uint8_t* image, int h, int w, size_t row_stride,
                               bool rgb = false) const;

  int num_joints() const { return num_joints_; }
  int input_size() const { return input_size_; }
  const EstimatorOptions& options() const { return opt_; }
  const std::shared_ptr<Network>& network() const { return net_; }

 private:
  std::shared_ptr<Network> net_;
  EstimatorOptions opt_;
  int num_joints_ = 0, input_size_ = 0;
  std::vector<int> flip_index_;
};

}  // namespace litepose
