// The litepose model file (.lpm): one self-describing, checksummed file.
// Format: docs/model-format.md.  Reading checks everything before use, and
// every problem raises ModelError naming it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "litepose/network.h"

namespace litepose {

constexpr uint32_t kModelFormatVersion = 1;
constexpr char kModelMagic[8] = {'L', 'I', 'T', 'E', 'P', 'O', 'S', 'E'};

struct TensorData {
  std::vector<int64_t> shape;
  std::vector<float> data;
};

struct ModelContents {
  ModelInfo info;
  std::map<std::string, std::string> meta;      // every key=value of the header
  std::map<std::string, TensorData> tensors;
};

// Parses and validates a model held in memory.  `what` names the source in
// error messages (a path, or "<memory>").
ModelContents parse_model(const uint8_t* data, size_t size, const std::string& what);
ModelContents read_model_file(const std::string& path);

// Serialises a model: meta must hold at least the keys parse_model requires
// (arch, dataset, num_joints, input_size, input_channel, stages, blocks,
// deconv).
std::vector<uint8_t> serialize_model(const std::map<std::string, std::string>& meta,
                                     const std::map<std::string, TensorData>& tensors);

// The tensors (folded conv weights and biases, PyTorch layouts) a network of
// this architecture needs, in execution order, with their shapes.
std::vector<std::pair<std::string, std::vector<int64_t>>> expected_tensors(const ModelInfo& info);

uint32_t crc32(const uint8_t* data, size_t size, uint32_t crc = 0);

}  // namespace litepose
