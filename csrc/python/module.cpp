// litepose._core: the pybind11 module.  Thin: argument checks, numpy
// conversion, GIL release; all work is in the C++ core.  Bindings are split
// by area (register_*.cpp).
#include <pybind11/pybind11.h>

#include "litepose/error.h"

namespace py = pybind11;

void register_network(py::module_& m);
void register_model(py::module_& m);
void register_decode(py::module_& m);

PYBIND11_MODULE(_core, m) {
  m.doc() = "litepose native core";
  static py::exception<litepose::ModelError> model_error(m, "ModelError", PyExc_ValueError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const litepose::ModelError& e) {
      py::set_error(model_error, e.what());
    } catch (const litepose::InputError& e) {
      py::set_error(PyExc_ValueError, e.what());
    }
  });
  register_model(m);
  register_network(m);
  register_decode(m);
}
