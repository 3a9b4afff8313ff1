// A 64-byte aligned float buffer (cache line and AVX-512 register width).
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>

namespace litepose::ops {

class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t n) { resize(n); }
  ~AlignedBuffer() { std::free(ptr_); }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  AlignedBuffer(AlignedBuffer&& o) noexcept : ptr_(o.ptr_), size_(o.size_) {
    o.ptr_ = nullptr;
    o.size_ = 0;
  }
  AlignedBuffer& operator=(AlignedBuffer&& o) noexcept {
    if (this != &o) {
      std::free(ptr_);
      ptr_ = o.ptr_;
      size_ = o.size_;
      o.ptr_ = nullptr;
      o.size_ = 0;
    }
    return *this;
  }
  // Discards the contents; new memory is zeroed.
  void resize(size_t n) {
    if (n == size_) return;
    std::free(ptr_);
    ptr_ = nullptr;
    size_ = 0;
    if (n == 0) return;
    size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    ptr_ = static_cast<float*>(std::aligned_alloc(64, bytes));
    if (!ptr_) throw std::bad_alloc();
    std::memset(ptr_, 0, bytes);
    size_ = n;
  }
  float* data() { return ptr_; }
  const float* data() const { return ptr_; }
  size_t size() const { return size_; }

 private:
  float* ptr_ = nullptr;
  size_t size_ = 0;
};

}  // namespace litepose::ops
