// Bindings of the model-file reader and writer (used by the converter, so
// the format has exactly one implementation: the C++ one).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "litepose/model_file.h"
#include "python/bindings.h"

namespace py = pybind11;

void register_model(py::module_& m) {
  m.attr("MODEL_FORMAT_VERSION") = litepose::kModelFormatVersion;
  m.def(
      "serialize_model",
      [](const std::map<std::string, std::string>& meta, const py::dict& tensors) {
        std::map<std::string, litepose::TensorData> t;
        for (auto item : tensors) {
          std::string name = py::str(item.first);
          auto arr = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(item.second);
          if (!arr) throw litepose::InputError("tensor '" + name + "' is not convertible to a float32 array");
          litepose::TensorData td;
          for (py::ssize_t i = 0; i < arr.ndim(); ++i) td.shape.push_back(arr.shape(i));
          td.data.assign(arr.data(), arr.data() + arr.size());
          t.emplace(name, std::move(td));
        }
        auto bytes = litepose::serialize_model(meta, t);
        return py::bytes(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      },
      py::arg("meta"), py::arg("tensors"));
  m.def(
      "read_model",
      [](const std::string& path) {
        litepose::ModelContents mc;
        {
          py::gil_scoped_release nogil;
          mc = litepose::read_model_file(path);
        }
        py::dict tensors;
        for (auto& [name, td] : mc.tensors) {
          std::vector<py::ssize_t> shape(td.shape.begin(), td.shape.end());
          py::array_t<float> a(shape);
          std::copy(td.data.begin(), td.data.end(), a.mutable_data());
          tensors[py::str(name)] = a;
        }
        return py::make_tuple(mc.meta, tensors);
      },
      py::arg("path"));
  m.def(
      "validate_model_bytes",
      [](py::bytes data, const std::string& what) {
        std::string s = data;
        auto mc = litepose::parse_model(reinterpret_cast<const uint8_t*>(s.data()), s.size(), what);
        return mc.meta;
      },
      py::arg("data"), py::arg("what") = "<memory>");
}
