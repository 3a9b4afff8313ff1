// Exceptions thrown by the litepose core.  Every message says what was
// expected and what came.  The Python bindings map InputError to ValueError
// and ModelError to litepose.ModelError (a ValueError subclass).
#pragma once

#include <stdexcept>
#include <string>

namespace litepose {

// Base of every litepose exception.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A bad argument: wrong shape, size, NaN, thread count, ...
class InputError : public Error {
 public:
  using Error::Error;
};

// A model file that cannot be used: missing, truncated, corrupt, wrong
// version, inconsistent tensors.
class ModelError : public Error {
 public:
  using Error::Error;
};

}  // namespace litepose
