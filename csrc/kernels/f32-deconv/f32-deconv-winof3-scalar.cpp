// f32_deconv_winof3_{in,out}__scalar: the Winograd F(3x3, 2x2) transforms of
// the head's deconvolution (f32-deconv-winof3.h), the bodies of
// winof3-impl.h compiled with this ISA's flags (vectorised over channels
// by the compiler).
#include "kernels/f32-deconv/winof3-impl.h"

namespace litepose::kernels {

void f32_deconv_winof3_in__scalar(const DeconvWinoParams& p, const float* in0, const float* in1,
                                  const float* zeros, int ph, long m0, size_t t0, size_t t1, float* v) {
  winof3::in_row(p, in0, in1, zeros, ph, m0, t0, t1, v);
}

void f32_deconv_winof3_out__scalar(const DeconvWinoParams& p, const float* m, size_t xs, const float* bias,
                                   int ph, long m0, size_t t0, size_t t1, size_t oy0, size_t oy1, float* out,
                                   float* sink) {
  winof3::out_row(p, m, xs, bias, ph, m0, t0, t1, oy0, oy1, out, sink);
}

}  // namespace litepose::kernels
