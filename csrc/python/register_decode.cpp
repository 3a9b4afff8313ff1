// Bindings of the preprocessing, the decoder steps and PoseEstimator.
//
// Why thin: every check that matters for C++ callers is in the core; here we
// only validate numpy arguments (dtype, rank, shape, C order -- messages say
// what was expected and what came), convert, and release the GIL around the
// native work.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>

#include "litepose/decode.h"
#include "litepose/estimator.h"
#include "litepose/network.h"
#include "litepose/preprocess.h"
#include "python/bindings.h"

namespace py = pybind11;
using litepose::InputError;

namespace {

using litepose::python::describe;
using litepose::python::require_f32;
using F32 = py::array_t<float, py::array::c_style>;

std::string shape_str(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s += (i ? ", " : "") + std::to_string(a.shape(i));
  return s + (a.ndim() == 1 ? ",)" : ")");
}

// Network output: [2K, h4, w4] / [K, h2, w2], or with a leading batch of 1.
F32 require_map(const py::handle& obj, const char* name, const char* layout) {
  if (py::isinstance<py::array>(obj) && py::reinterpret_borrow<py::array>(obj).ndim() == 4) {
    auto a = require_f32(obj, 4, name, layout);
    if (a.shape(0) != 1)
      throw InputError(std::string(name) + " must have batch 1 (shape " + layout + "); got shape " +
                       shape_str(a));
    return a;
  }
  return require_f32(obj, 3, name, layout);
}
py::ssize_t dim(const F32& a, int i) { return a.shape(a.ndim() - 3 + i); }

litepose::DecodeOptions make_options(int max_num_people, float detection_threshold,
                                     float tag_threshold, bool use_detection_val,
                                     bool ignore_too_much, int nms_kernel, bool adjust,
                                     bool refine, bool project_to_input) {
  litepose::DecodeOptions o;
  if (max_num_people <= 0 || max_num_people > 1000)
    throw InputError("max_num_people must be in [1, 1000]; got " + std::to_string(max_num_people));
  if (nms_kernel <= 0 || nms_kernel % 2 == 0 || nms_kernel > 31)
    throw InputError("nms_kernel must be odd in [1, 31]; got " + std::to_string(nms_kernel));
  o.max_num_people = max_num_people;
  o.detection_threshold = detection_threshold;
  o.tag_threshold = tag_threshold;
  o.use_detection_val = use_detection_val;
  o.ignore_too_much = ignore_too_much;
  o.nms_kernel = nms_kernel;
  o.adjust = adjust;
  o.refine = refine;
  o.project_to_input = project_to_input;
  return o;
}

py::tuple people_to_numpy(const std::vector<litepose::Person>& people, int k, int cols) {
  F32 joints({static_cast<py::ssize_t>(people.size()), static_cast<py::ssize_t>(k),
              static_cast<py::ssize_t>(cols)});
  F32 scores({static_cast<py::ssize_t>(people.size())});
  float* j = joints.mutable_data();
  for (size_t p = 0; p < people.size(); ++p) {
    scores.mutable_data()[p] = people[p].score;
    const int rl = 3 + people[p].d;
    for (int q = 0; q < k; ++q)
      for (int c = 0; c < cols; ++c)
        j[(p * k + q) * cols + c] = c < rl ? people[p].joints[static_cast<size_t>(q) * rl + c] : 0.f;
  }
  return py::make_tuple(joints, scores);
}

py::array_t<double> affine_to_numpy(const litepose::Affine& a) {
  py::array_t<double> m({2, 3});
  for (int i = 0; i < 6; ++i) m.mutable_data()[i] = a.m[i];
  return m;
}

litepose::Affine affine_from(const py::handle& obj) {
  auto a = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(obj);
  if (!a || a.ndim() != 2 || a.shape(0) != 2 || a.shape(1) != 3)
    throw InputError("to_image must be a 2x3 affine matrix; got " + describe(obj));
  litepose::Affine t;
  for (int i = 0; i < 6; ++i) t.m[i] = a.data()[i];
  return t;
}

// uint8 H x W x 3, rows may be strided (a view), pixels and channels packed.
struct ImageView {
  const uint8_t* data;
  int h, w;
  size_t row_stride;
};
ImageView require_image(const py::handle& obj) {
  auto fail = [&](const std::string& why) {
    throw InputError("image must be a uint8 array of shape (H, W, 3) with packed pixels; got " +
                     describe(obj) + " (" + why + ")");
  };
  if (!py::isinstance<py::array>(obj)) fail("not a numpy array");
  auto a = py::reinterpret_borrow<py::array>(obj);
  if (!a.dtype().is(py::dtype::of<uint8_t>())) fail("wrong dtype");
  if (a.ndim() != 3 || a.shape(2) != 3) fail("wrong shape");
  if (a.shape(0) == 0 || a.shape(1) == 0) fail("empty");
  if (a.strides(2) != 1 || a.strides(1) != 3 || a.strides(0) < 3 * a.shape(1))
    fail("use np.ascontiguousarray");
  return {static_cast<const uint8_t*>(a.data()), static_cast<int>(a.shape(0)),
          static_cast<int>(a.shape(1)), static_cast<size_t>(a.strides(0))};
}

}  // namespace

void register_decode(py::module_& m) {
  m.def(
      "last_decode_timings",
      [] {
        const auto& t = litepose::last_decode_timings();
        py::dict d;
        d["merge"] = t.merge;
        d["peaks"] = t.peaks;
        d["matching"] = t.matching;
        d["adjust"] = t.adjust;
        d["refine"] = t.refine;
        d["mapping"] = t.mapping;
        return d;
      },
      "ms per step of the last decode on this thread: merge, peaks, matching, adjust, refine, mapping");
  m.def("crowdpose_flip_index", &litepose::crowdpose_flip_index);
  m.def("coco_flip_index", &litepose::coco_flip_index);
  m.def("joint_order", &litepose::joint_order, py::arg("num_joints"));

  m.def(
      "plan_preprocess",
      [](int image_h, int image_w, int input_size) {
        const litepose::PreprocessPlan p = litepose::plan_preprocess(image_h, image_w, input_size);
        py::dict d;
        d["size"] = py::make_tuple(p.width, p.height);
        d["center"] = py::make_tuple(p.center[0], p.center[1]);
        d["scale"] = py::make_tuple(p.scale[0], p.scale[1]);
        d["to_input"] = affine_to_numpy(p.to_input);
        d["to_image"] = affine_to_numpy(p.to_image);
        return d;
      },
      py::arg("image_h"), py::arg("image_w"), py::arg("input_size"),
      "Official get_multi_scale_size + get_affine_transform: dict(size=(W, H), center, scale, "
      "to_input, to_image).");

  m.def(
      "preprocess",
      [](const py::handle& image, int input_size, bool rgb) {
        const ImageView v = require_image(image);
        const litepose::PreprocessPlan p = litepose::plan_preprocess(v.h, v.w, input_size);
        F32 out({3, p.height, p.width});
        float* o = out.mutable_data();
        {
          py::gil_scoped_release release;
          litepose::preprocess(v.data, v.row_stride, rgb, p, o);
        }
        py::dict d;
        d["center"] = py::make_tuple(p.center[0], p.center[1]);
        d["scale"] = py::make_tuple(p.scale[0], p.scale[1]);
        d["to_input"] = affine_to_numpy(p.to_input);
        d["to_image"] = affine_to_numpy(p.to_image);
        return py::make_tuple(out, d);
      },
      py::arg("image"), py::arg("input_size"), py::arg("rgb") = false,
      "image (H, W, 3) uint8 BGR (rgb=False) -> (x float32 [3, Hin, Win], info dict).");

  m.def(
      "upsample2x",
      [](const py::handle& x) {
        auto a = require_f32(x, 3, "x", "(C, H, W)");
        F32 out({a.shape(0), 2 * a.shape(1), 2 * a.shape(2)});
        const float* src = a.data();
        float* dst = out.mutable_data();
        const int c = static_cast<int>(a.shape(0)), h = static_cast<int>(a.shape(1)),
                  w = static_cast<int>(a.shape(2));
        py::gil_scoped_release release;
        litepose::upsample2x(src, c, h, w, dst);
        return out;
      },
      py::arg("x"), "torch-exact bilinear x2 (align_corners=False): (C, H, W) -> (C, 2H, 2W).");

  m.def(
      "nms_topk",
      [](const py::handle& det, int kernel, int k) {
        auto a = require_f32(det, 2, "det", "(H, W)");
        if (k <= 0) throw InputError("k must be > 0; got " + std::to_string(k));
        if (kernel <= 0 || kernel % 2 == 0)
          throw InputError("kernel must be odd and > 0; got " + std::to_string(kernel));
        const long n = static_cast<long>(a.shape(0)) * a.shape(1);
        const int kk = static_cast<int>(std::min<long>(k, n));
        F32 val({kk});
        py::array_t<int> idx({kk});
        float* v = val.mutable_data();
        int* ix = idx.mutable_data();
        const int h = static_cast<int>(a.shape(0)), w = static_cast<int>(a.shape(1));
        {
          py::gil_scoped_release release;
          litepose::nms_topk(a.data(), h, w, kernel, kk, v, ix);
        }
        return py::make_tuple(val, idx);
      },
      py::arg("det"), py::arg("kernel") = 5, py::arg("k") = 30,
      "Max-pool NMS then top-k (torch order): -> (values [k], flat indices [k]).");

  m.def(
      "munkres",
      [](const py::handle& cost) {
        auto a = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(cost);
        if (!a || a.ndim() != 2)
          throw InputError("cost must be a 2-D float array; got " + describe(cost));
        const int r = static_cast<int>(a.shape(0)), c = static_cast<int>(a.shape(1));
        std::vector<std::pair<int, int>> pairs;
        {
          py::gil_scoped_release release;
          pairs = litepose::munkres_1_1_4(a.data(), r, c);
        }
        return pairs;
      },
      py::arg("cost"), "munkres 1.1.4 Munkres.compute replica: -> [(row, col), ...].");

  m.def(
      "decode",
      [](const py::handle& out4, const py::handle& out2, const py::object& out4_flip,
         const py::object& out2_flip, const std::string& dataset, const py::object& to_image,
         int max_num_people, float detection_threshold, float tag_threshold,
         bool use_detection_val, bool ignore_too_much, int nms_kernel, bool adjust, bool refine,
         bool project_to_input, bool with_tags) {
        auto o4 = require_map(out4, "out4", "(2K, H/4, W/4)");
        auto o2 = require_map(out2, "out2", "(K, H/2, W/2)");
        const int k = static_cast<int>(dim(o2, 0));
        const int h2 = static_cast<int>(dim(o2, 1)), w2 = static_cast<int>(dim(o2, 2));
        if (dim(o4, 0) != 2 * k || 2 * dim(o4, 1) != h2 || 2 * dim(o4, 2) != w2)
          throw InputError("out4 must have shape (2K, H/4, W/4) = (" + std::to_string(2 * k) + ", " +
                           std::to_string(h2 / 2) + ", " + std::to_string(w2 / 2) +
                           ") for out2 " + shape_str(o2) + "; got " + shape_str(o4));
        const bool flip = !out4_flip.is_none() || !out2_flip.is_none();
        F32 f4, f2;
        if (flip) {
          if (out4_flip.is_none() || out2_flip.is_none())
            throw InputError("out4_flip and out2_flip must be given together");
          f4 = require_map(out4_flip, "out4_flip", "(2K, H/4, W/4)");
          f2 = require_map(out2_flip, "out2_flip", "(K, H/2, W/2)");
          for (int i = 0; i < 3; ++i)
            if (dim(f4, i) != dim(o4, i) || dim(f2, i) != dim(o2, i))
              throw InputError("flipped outputs must have the shapes of out4 " + shape_str(o4) +
                               " and out2 " + shape_str(o2) + "; got " + shape_str(f4) + " and " +
                               shape_str(f2));
        }
        const std::vector<int>* fi = flip ? &litepose::flip_index_for(dataset, k) : nullptr;
        const litepose::DecodeOptions opt =
            make_options(max_num_people, detection_threshold, tag_threshold, use_detection_val,
                         ignore_too_much, nms_kernel, adjust, refine, project_to_input);
        const bool map_back = !to_image.is_none();
        litepose::Affine t;
        if (map_back) t = affine_from(to_image);
        std::vector<litepose::Person> people;
        {
          py::gil_scoped_release release;
          people = litepose::decode(o4.data(), o2.data(), flip ? f4.data() : nullptr,
                                    flip ? f2.data() : nullptr, k, 2 * h2, 2 * w2,
                                    fi ? fi->data() : nullptr, opt);
          if (map_back) litepose::transform_people(people, t);
        }
        return people_to_numpy(people, k, with_tags ? (flip ? 5 : 4) : 3);
      },
      py::arg("out4"), py::arg("out2"), py::arg("out4_flip") = py::none(),
      py::arg("out2_flip") = py::none(), py::arg("dataset") = "crowdpose",
      py::arg("to_image") = py::none(), py::arg("max_num_people") = 30,
      py::arg("detection_threshold") = 0.1f, py::arg("tag_threshold") = 1.0f,
      py::arg("use_detection_val") = true, py::arg("ignore_too_much") = false,
      py::arg("nms_kernel") = 5, py::arg("adjust") = true, py::arg("refine") = true,
      py::arg("project_to_input") = true, py::arg("with_tags") = false,
      "Official LitePose decoding of one image's outputs -> (joints float32 [P, K, 3 (+D tags)], "
      "scores float32 [P]); coordinates in input pixels, or image pixels with to_image.");

  py::class_<litepose::PoseEstimator, std::shared_ptr<litepose::PoseEstimator>>(m, "PoseEstimator")
      .def(py::init([](const py::object& network_or_path, bool flip, int input_size,
                       const std::string& dataset, int num_threads, int max_num_people,
                       float detection_threshold, float tag_threshold, bool adjust, bool refine,
                       bool project_to_input) {
             std::shared_ptr<litepose::Network> net;
             if (py::isinstance<litepose::Network>(network_or_path)) {
               net = network_or_path.cast<std::shared_ptr<litepose::Network>>();
             } else if (py::isinstance<py::str>(network_or_path) ||
                        py::hasattr(network_or_path, "__fspath__")) {
               const std::string path =
                   py::str(py::module_::import("os").attr("fspath")(network_or_path));
               litepose::NetworkOptions no;
               if (num_threads < 0)
                 throw InputError("num_threads must be >= 0 (0: default); got " +
                                  std::to_string(num_threads));
               no.num_threads = num_threads;
               py::gil_scoped_release release;
               net = std::make_shared<litepose::Network>(path, no);
             } else {
               throw InputError("PoseEstimator expects a Network or a model path; got " +
                                describe(network_or_path));
             }
             litepose::EstimatorOptions o;
             o.flip = flip;
             o.input_size = input_size;
             o.dataset = dataset;
             o.decode = make_options(max_num_people, detection_threshold, tag_threshold, true,
                                     false, 5, adjust, refine, project_to_input);
             return std::make_shared<litepose::PoseEstimator>(net, o);
           }),
           py::arg("network_or_path"), py::arg("flip") = false, py::arg("input_size") = 0,
           py::arg("dataset") = "", py::arg("num_threads") = 0, py::arg("max_num_people") = 30,
           py::arg("detection_threshold") = 0.1f, py::arg("tag_threshold") = 1.0f,
           py::arg("adjust") = true, py::arg("refine") = true, py::arg("project_to_input") = true)
      .def(
          "__call__",
          [](const litepose::PoseEstimator& est, const py::handle& image, bool rgb) {
            const ImageView v = require_image(image);
            std::vector<litepose::Pose> poses;
            {
              py::gil_scoped_release release;
              poses = est(v.data, v.h, v.w, v.row_stride, rgb);
            }
            const int k = est.num_joints();
            F32 kp({static_cast<py::ssize_t>(poses.size()), static_cast<py::ssize_t>(k),
                    static_cast<py::ssize_t>(3)});
            F32 sc({static_cast<py::ssize_t>(poses.size())});
            for (size_t p = 0; p < poses.size(); ++p) {
              sc.mutable_data()[p] = poses[p].score;
              std::copy(poses[p].keypoints.begin(), poses[p].keypoints.end(),
                        kp.mutable_data() + p * k * 3);
            }
            return py::make_tuple(kp, sc);
          },
          py::arg("image"), py::arg("rgb") = false,
          "image (H, W, 3) uint8 -> (keypoints float32 [N, K, 3] in image pixels, scores [N]).")
      .def_property_readonly("num_joints", &litepose::PoseEstimator::num_joints)
      .def_property_readonly("input_size", &litepose::PoseEstimator::input_size)
      .def_property_readonly("flip", [](const litepose::PoseEstimator& e) { return e.options().flip; })
      .def_property_readonly("dataset",
                             [](const litepose::PoseEstimator& e) { return e.options().dataset; })
      .def_property_readonly("network", &litepose::PoseEstimator::network);
}
