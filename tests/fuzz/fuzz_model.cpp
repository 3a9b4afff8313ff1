// libFuzzer target: the model-file loader and a forward pass of whatever it
// accepts.  Built by scripts/fuzz.sh with clang -fsanitize=fuzzer,address,
// undefined and FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION (which lets inputs
// past the CRC so mutations reach the parser).  Contract under test: any
// bytes either load or raise litepose::Error; never a crash, a leak, an
// out-of-bounds access or an unbounded allocation.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "litepose/network.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    litepose::NetworkOptions opts;
    opts.num_threads = 1;
    opts.isa = "scalar";
    litepose::Network net(data, size, opts);
    const int K = net.info().num_joints;
    std::vector<float> x(3 * 32 * 32, 0.5f), o4(2 * K * 8 * 8), o2(K * 16 * 16);
    net.forward(x.data(), 1, 32, 32, o4.data(), o2.data());
  } catch (const litepose::Error&) {
  }
  return 0;
}
