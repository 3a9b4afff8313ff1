// PoseEstimator: the whole test-time pipeline of the official code (see
// litepose/estimator.h), native.
#include "litepose/estimator.h"

#include <string>

namespace litepose {

PoseEstimator::PoseEstimator(std::shared_ptr<Network> network, const EstimatorOptions& opt)
    : net_(std::move(network)), opt_(opt) {
  if (!net_) throw InputError("PoseEstimator: expected a network, got null");
  const ModelInfo& info = net_->info();
  num_joints_ = info.num_joints;
  input_size_ = opt_.input_size > 0 ? opt_.input_size : info.input_size;
  if (input_size_ <= 0 || input_size_ > 4096)
    throw InputError("PoseEstimator: expected an input size in [1, 4096], got " +
                     std::to_string(input_size_));
  if (num_joints_ <= 0) throw InputError("PoseEstimator: the model reports no joints");
  if (opt_.dataset.empty()) opt_.dataset = info.dataset;
  if (opt_.flip) flip_index_ = flip_index_for(opt_.dataset, num_joints_);
  const DecodeOptions& d = opt_.decode;
  if (d.max_num_people <= 0 || d.max_num_people > 1000)
    throw InputError("PoseEstimator: max_num_people must be in [1, 1000], got " +
                     std::to_string(d.max_num_people));
  if (d.nms_kernel <= 0 || d.nms_kernel % 2 == 0 || d.nms_kernel > 31)
    throw InputError("PoseEstimator: nms_kernel must be odd in [1, 31], got " +
                     std::to_string(d.nms_kernel));
  if (!(d.detection_threshold >= 0) || !(d.tag_threshold > 0))
    throw InputError("PoseEstimator: thresholds must be detection >= 0 and tag > 0");
}

std::vector<Pose> PoseEstimator::operator()(const uint8_t* image, int h, int w,
                                            size_t row_stride, bool rgb) const {
  if (!image) throw InputError("PoseEstimator: image is null");
  const PreprocessPlan plan = plan_preprocess(h, w, input_size_);
  net_->wake();  // the pool's idle cores wake while the image is prepared
  const int H = plan.height, W = plan.width;
  Network::check_input_size(H, W);
  const size_t plane = static_cast<size_t>(H) * W;
  const int n = opt_.flip ? 2 : 1;
  std::vector<float> x(plane * 3 * n);
  preprocess(image, row_stride, rgb, plan, x.data());
  if (opt_.flip) {
    // torch.flip(image, [3]): mirror every row of every channel.
    float* f = x.data() + plane * 3;
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < H; ++y) {
        const float* s = x.data() + c * plane + static_cast<size_t>(y) * W;
        float* d = f + c * plane + static_cast<size_t>(y) * W;
        for (int q = 0; q < W; ++q) d[q] = s[W - 1 - q];
      }
  }
  const int K = num_joints_;
  const size_t n4 = static_cast<size_t>(2 * K) * (H / 4) * (W / 4);
  const size_t n2 = static_cast<size_t>(K) * (H / 2) * (W / 2);
  std::vector<float> out4(n4 * n), out2(n2 * n);
  net_->forward(x.data(), n, H, W, out4.data(), out2.data());
  std::vector<Person> people =
      decode(out4.data(), out2.data(), opt_.flip ? out4.data() + n4 : nullptr,
             opt_.flip ? out2.data() + n2 : nullptr, K, H, W,
             opt_.flip ? flip_index_.data() : nullptr, opt_.decode);
  transform_people(people, plan.to_image);
  std::vector<Pose> poses(people.size());
  for (size_t p = 0; p < people.size(); ++p) {
    poses[p].score = people[p].score;
    poses[p].keypoints.resize(static_cast<size_t>(K) * 3);
    for (int j = 0; j < K; ++j)
      for (int c = 0; c < 3; ++c) poses[p].keypoints[j * 3 + c] = people[p].joint(j)[c];
  }
  return poses;
}

}  // namespace litepose
