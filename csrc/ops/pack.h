// Weight packing: PyTorch layouts (OIHW, deconv IOHW) into the layouts the
// kernels read (kernels.h).  Done once at model load.
#pragma once

#include <cstddef>
#include <vector>

#include "ops/aligned.h"

namespace litepose::ops {

// 1x1 conv weights [N][K] (OIHW with H=W=1) + bias [N] (null: zeros) into
// nr-wide panels: per panel float bias[nr]; float w[K][nr] (zero padded).
AlignedBuffer pack_gemm_weights(const float* w_nk, const float* bias, size_t n, size_t k, size_t nr);

// Depthwise weights [C][1][k][k] into w[k*k][C].
AlignedBuffer pack_dwconv_weights(const float* w_c1kk, size_t c, int k);

// Dense conv weights [Co][Ci][k][k] into w[k][k][Ci][Co].
AlignedBuffer pack_conv_weights(const float* w_oikk, size_t co, size_t ci, int k);

// Transposed conv weights [Ci][Co][4][4] into w[4 phases][4 taps][Ci][Co].
AlignedBuffer pack_deconv_weights(const float* w_io44, size_t ci, size_t co);

}  // namespace litepose::ops
