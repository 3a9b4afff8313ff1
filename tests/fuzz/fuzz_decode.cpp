// libFuzzer target: the decoder's entry point on arbitrary network outputs.
// The first bytes choose the joint count, the input size, flip test and the
// option knobs; the rest fills the output maps as raw floats (NaN, Inf,
// denormals and huge values included; zero padded).  Contract under test:
// decode() + transform_people() return or throw litepose::Error; never a
// crash, an out-of-bounds access, UB or a hang on any map contents.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "litepose/decode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 6) return 0;
  const int k = 1 + data[0] % 17;
  const int h = 4 * (1 + data[1] % 12), w = 4 * (1 + data[2] % 12);
  const bool flip = data[3] & 1;
  litepose::DecodeOptions opt;
  opt.max_num_people = 1 + data[4] % 40;
  opt.project_to_input = !(data[5] & 1);
  opt.adjust = !(data[5] & 2);
  opt.refine = !(data[5] & 4);
  data += 6;
  size -= 6;
  const size_t n4 = static_cast<size_t>(2 * k) * (h / 4) * (w / 4), n2 = static_cast<size_t>(k) * (h / 2) * (w / 2);
  const size_t total = (n4 + n2) * (flip ? 2 : 1);
  std::vector<float> maps(total, 0.f);
  std::memcpy(maps.data(), data, std::min(size, total * sizeof(float)));
  const float* o4 = maps.data();
  const float* o2 = o4 + n4;
  const float* o4f = flip ? o2 + n2 : nullptr;
  const float* o2f = flip ? o4f + n4 : nullptr;
  std::vector<int> flip_index(k);
  for (int j = 0; j < k; ++j) flip_index[static_cast<size_t>(j)] = k - 1 - j;
  try {
    auto people = litepose::decode(o4, o2, o4f, o2f, k, h, w, flip_index.data(), opt);
    litepose::Affine t;
    t.m[0] = 1.5;
    t.m[4] = 0.75;
    litepose::transform_people(people, t);
  } catch (const litepose::Error&) {
  }
  return 0;
}
