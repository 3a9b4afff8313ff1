// Shared helpers for the pybind11 bindings: strict numpy argument checks
// with messages that say what was expected and what came.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

namespace litepose::python {

namespace py = pybind11;

// Returns the array if it is a C-contiguous float32 ndarray of rank `ndim`;
// raises ValueError (via InputError) otherwise.
py::array_t<float, py::array::c_style> require_f32(const py::handle& obj, int ndim, const char* name,
                                                   const char* layout);

std::string describe(const py::handle& obj);

}  // namespace litepose::python
