// core/tensor/tensor.h - an owned tensor: compact row-major, zero-filled, 64-byte aligned on the CPU
// (or in CUDA device memory), optionally charged to a MemoryBudget until it is freed.
#pragma once

#include <cstdint>
#include <vector>

#include "llmc/plugin.h"
#include "tensor/device.h"
#include "tensor/dtype.h"
#include "util/expected.h"

namespace llmc {

class MemoryBudget;

class Tensor {
 public:
  /// Fails on a negative dimension, a size that overflows, a sub-byte dtype whose elements do not
  /// fill whole bytes, an unsupported device, or a budget or allocation failure (message names it).
  static Expected<Tensor> allocate(DType dtype, std::vector<int64_t> shape, llmc_dl_device device = kCpu,
                                   MemoryBudget* budget = nullptr);

  Tensor(Tensor&& other) noexcept;
  Tensor& operator=(Tensor&& other) noexcept;
  Tensor(const Tensor&) = delete;
  Tensor& operator=(const Tensor&) = delete;
  ~Tensor();

  DType dtype() const { return dtype_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  int32_t ndim() const { return static_cast<int32_t>(shape_.size()); }
  int64_t numel() const { return numel_; }
  uint64_t nbytes() const { return nbytes_; }
  llmc_dl_device device() const { return device_; }
  /// nullptr when nbytes() is 0.
  void* data() { return data_; }
  const void* data() const { return data_; }

  /// A DLPack view (strides NULL: compact) whose shape points into this tensor; it stays valid while
  /// the tensor lives, across moves of it.
  llmc_dl_tensor dl_view() const;

 private:
  Tensor() = default;
  void reset();

  DType dtype_ = DType::U8;
  std::vector<int64_t> shape_;  // moving a vector keeps its buffer, so dl_view's shape pointer survives
  int64_t numel_ = 0;
  uint64_t nbytes_ = 0;
  llmc_dl_device device_ = kCpu;
  void* data_ = nullptr;
  MemoryBudget* budget_ = nullptr;
};

}  // namespace llmc
