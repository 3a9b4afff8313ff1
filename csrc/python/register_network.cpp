// Bindings of litepose::Network and build/CPU information.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "litepose/network.h"
#include "ops/cpu.h"
#include "ops/dispatch.h"
#include "ops/threadpool.h"
#include "python/bindings.h"

namespace py = pybind11;
using litepose::InputError;
using litepose::Network;

namespace litepose::python {

std::string describe(const py::handle& obj) {
  if (py::isinstance<py::array>(obj)) {
    auto a = py::reinterpret_borrow<py::array>(obj);
    std::string s = "ndarray dtype=" + std::string(py::str(a.dtype())) + " shape=(";
    for (py::ssize_t i = 0; i < a.ndim(); ++i) s += (i ? ", " : "") + std::to_string(a.shape(i));
    s += a.ndim() == 1 ? ",)" : ")";
    if (!(a.flags() & py::array::c_style)) s += " non-contiguous";
    return s;
  }
  return std::string(py::str(py::type::of(obj).attr("__name__")));
}

py::array_t<float, py::array::c_style> require_f32(const py::handle& obj, int ndim, const char* name,
                                                   const char* layout) {
  auto fail = [&](const std::string& why) {
    throw InputError(std::string(name) + " must be a C-contiguous float32 array of shape " + layout + "; got " +
                     describe(obj) + (why.empty() ? "" : " (" + why + ")"));
  };
  if (!py::isinstance<py::array>(obj)) fail("not a numpy array");
  auto a = py::reinterpret_borrow<py::array>(obj);
  if (!a.dtype().is(py::dtype::of<float>())) fail("wrong dtype");
  if (a.ndim() != ndim) fail("wrong number of dimensions");
  if (!(a.flags() & py::array::c_style)) fail("use np.ascontiguousarray");
  return py::array_t<float, py::array::c_style>::ensure(a);
}

}  // namespace litepose::python

void register_network(py::module_& m) {
  using litepose::python::require_f32;
  py::class_<litepose::ModelInfo>(m, "ModelInfo")
      .def_readonly("arch", &litepose::ModelInfo::arch)
      .def_readonly("dataset", &litepose::ModelInfo::dataset)
      .def_readonly("input_size", &litepose::ModelInfo::input_size)
      .def_readonly("num_joints", &litepose::ModelInfo::num_joints)
      .def_readonly("input_channel", &litepose::ModelInfo::input_channel)
      .def_readonly("deconv", &litepose::ModelInfo::deconv)
      .def_readonly("format_version", &litepose::ModelInfo::format_version);

  py::class_<litepose::LayerTiming>(m, "LayerTiming")
      .def_readonly("name", &litepose::LayerTiming::name)
      .def_readonly("op", &litepose::LayerTiming::op)
      .def_readonly("kernel", &litepose::LayerTiming::kernel)
      .def_readonly("in_shape", &litepose::LayerTiming::in_shape)
      .def_readonly("out_shape", &litepose::LayerTiming::out_shape)
      .def_readonly("macs", &litepose::LayerTiming::macs)
      .def_readonly("ms", &litepose::LayerTiming::ms)
      .def_readonly("start_ms", &litepose::LayerTiming::start_ms)
      .def_property_readonly("spans", [](const litepose::LayerTiming& t) {
        py::list out;
        for (const auto& s : t.spans) out.append(py::make_tuple(s.thread, s.start_ms, s.end_ms));
        return out;
      });

  py::class_<Network, std::shared_ptr<Network>>(m, "Network")
      .def(py::init([](const std::string& path, int num_threads, const std::string& isa, const std::string& fuse,
                       const std::string& pin_threads) {
             litepose::NetworkOptions o;
             o.num_threads = num_threads;
             o.isa = isa;
             o.fuse = fuse;
             o.pin_threads = pin_threads;
             py::gil_scoped_release nogil;
             return std::make_shared<Network>(path, o);
           }),
           py::arg("path"), py::arg("num_threads") = 0, py::arg("isa") = "", py::arg("fuse") = "",
           py::arg("pin_threads") = "")
      .def_static("from_bytes",
                  [](py::bytes data, int num_threads, const std::string& isa, const std::string& fuse,
                     const std::string& pin_threads) {
                    litepose::NetworkOptions o;
                    o.num_threads = num_threads;
                    o.isa = isa;
                    o.fuse = fuse;
                    o.pin_threads = pin_threads;
                    std::string s = data;
                    py::gil_scoped_release nogil;
                    return std::make_shared<Network>(s.data(), s.size(), o);
                  },
                  py::arg("data"), py::arg("num_threads") = 0, py::arg("isa") = "", py::arg("fuse") = "",
                  py::arg("pin_threads") = "")
      .def_property_readonly("info", &Network::info)
      .def_property_readonly("isa", &Network::isa)
      .def_property_readonly("pinned_cpus", &Network::pinned_cpus)
      .def_property("num_threads", &Network::num_threads, &Network::set_num_threads)
      .def("kernels", &Network::kernels)
      .def("set_profiling", &Network::set_profiling)
      .def("last_timings", &Network::last_timings)
      .def("activation_bytes", &Network::activation_bytes)
      .def("wake", &Network::wake, py::arg("max_ms") = 10.0)
      .def("forward",
           [](Network& net, const py::object& x_obj) {
             auto x = require_f32(x_obj, 4, "x", "[N, 3, H, W]");
             const py::ssize_t n = x.shape(0), c = x.shape(1), h = x.shape(2), w = x.shape(3);
             if (c != 3)
               throw InputError("x must have 3 channels (normalised RGB, NCHW), got shape (" + std::to_string(n) +
                                ", " + std::to_string(c) + ", " + std::to_string(h) + ", " + std::to_string(w) + ")");
             if (n < 1) throw InputError("x must hold at least one image, got batch size 0");
             Network::check_input_size(static_cast<int>(h), static_cast<int>(w));
             const py::ssize_t K = net.info().num_joints;
             py::array_t<float> out4({n, 2 * K, h / 4, w / 4});
             py::array_t<float> out2({n, K, h / 2, w / 2});
             const float* xp = x.data();
             float* o4 = out4.mutable_data();
             float* o2 = out2.mutable_data();
             {
               py::gil_scoped_release nogil;
               net.forward(xp, static_cast<int>(n), static_cast<int>(h), static_cast<int>(w), o4, o2);
             }
             return py::make_tuple(out4, out2);
           },
           py::arg("x"));

  m.def("cpu_info", [] {
    const auto& c = litepose::ops::cpu_info();
    py::dict d;
    d["model"] = c.model;
    d["arch"] = c.arch;
    d["hardware_threads"] = c.hardware_threads;
    d["features"] = c.features();
    return d;
  });
  m.def("available_isas", [] {
    std::vector<std::string> v;
    for (auto* ks : litepose::ops::available_kernel_sets()) v.push_back(ks->isa);
    return v;
  });
  m.def("compiled_isas", &litepose::ops::compiled_isas);
  m.def("compiler", [] {
    py::dict d;
    d["version"] = litepose::ops::compiler_version();
    d["flags"] = litepose::ops::compiler_flags();
    return d;
  });
  m.def("default_num_threads", &litepose::ops::default_num_threads);
#ifndef LITEPOSE_VERSION
#define LITEPOSE_VERSION "dev"
#endif
  m.attr("__version__") = LITEPOSE_VERSION;
}
