// litepose preprocessing: an image to the network input, as the official
// LitePose test pipeline prepares it (valid.py + lib/utils/transforms.py).
//
// Why native: the official path is cvtColor + get_multi_scale_size +
// cv2.warpAffine + ToTensor + Normalize, five passes over the pixels with
// temporaries.  Here it is one pass: warp (bilinear, zero border), channel
// swap, scaling and normalisation, written straight into NCHW float32.
//
// Geometry (get_multi_scale_size at scale 1): the short side goes to the
// input size rounded up to a multiple of 64, the long side to
// ceil(input * long / short / 64) * 64; center = (int(w/2+0.5),
// int(h/2+0.5)), scale in 200-pixel units; the warp is
// get_affine_transform(center, scale, 0, (W, H)), computed like cv2 (float32
// points, 6x6 LU in double).
//
// Accuracy vs the official cv2 path: the warp is bilinear in float32
// (coordinates, weights, sum) rounded half to even to uint8, as cv2 5.0's
// warpAffine; measured on 8 real images it differs by at most 1 gray level
// on 0.11% of the values (tests/python/test_preprocess.py), i.e. at most
// 1/255/0.224 = 0.0175 after normalisation.  Geometry is equal to 1e-9.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "litepose/decode.h"
#include "litepose/error.h"

namespace litepose {

struct PreprocessPlan {
  int image_height = 0, image_width = 0;  // source image
  int height = 0, width = 0;              // network input (multiples of 64)
  double center[2] = {0, 0};              // official center (x, y), pixels
  double scale[2] = {0, 0};               // official scale (x, y), 200-px units
  Affine to_input;   // image pixel -> input pixel (the warp's matrix)
  Affine to_image;   // input pixel -> image pixel (get_final_preds' matrix)
};

// get_affine_transform(center, scale, rot=0, output_size=(w, h), inv) as
// the official code computes it (float32 points, cv2.getAffineTransform).
Affine official_affine(const double center[2], const double scale[2], int out_w, int out_h,
                       bool inverse);

// Sizes and transforms for an image of image_h x image_w.  Throws
// InputError on empty / absurd sizes or input_size <= 0.
PreprocessPlan plan_preprocess(int image_h, int image_w, int input_size);

// The network input for `plan`: out is 3 x plan.height x plan.width,
// normalised RGB ((v / 255 - mean) / std, ImageNet mean/std, float32 as
// torchvision computes it).  image is image_h x image_w x 3 uint8 rows of
// row_stride bytes, BGR unless rgb.
void preprocess(const uint8_t* image,  // HxWx3, row_stride bytes per row
                size_t row_stride, bool rgb, const PreprocessPlan& plan,
                float* out);           // 3xHinxWin

}  // namespace litepose
