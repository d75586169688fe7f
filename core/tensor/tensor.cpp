// core/tensor/tensor.cpp
#include "tensor/tensor.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <utility>

#include "tensor/memory_budget.h"

namespace llmc {

Expected<Tensor> Tensor::allocate(DType dtype, std::vector<int64_t> shape, llmc_dl_device device,
                                  MemoryBudget* budget) {
  int64_t numel = 1;
  for (int64_t size : shape) {
    if (size < 0 || (size != 0 && numel > INT64_MAX / size))
      return Error{fmt::format("cannot allocate a {} tensor of shape [{}]: invalid size", name(dtype),
                               fmt::join(shape, ", "))};
    numel *= size;
  }
  if (static_cast<uint64_t>(numel) > UINT64_MAX / 64)
    return Error{fmt::format("cannot allocate a {} tensor of shape [{}]: too large", name(dtype),
                             fmt::join(shape, ", "))};
  const auto nbytes = byte_size(dtype, static_cast<uint64_t>(numel));
  if (!nbytes)
    return Error{
        fmt::format("cannot allocate a {} tensor of shape [{}]: its {} elements do not fill whole bytes",
                    name(dtype), fmt::join(shape, ", "), numel)};
  if (device.device_type != LLMC_DL_CPU && device.device_type != LLMC_DL_CUDA)
    return Error{fmt::format("cannot allocate tensors on {}", device_name(device))};
  if (budget != nullptr)
    LLMC_TRY(budget->reserve(
        *nbytes, fmt::format("{} [{}] on {}", name(dtype), fmt::join(shape, ", "), device_name(device))));
  auto data = allocate_zeroed(device, *nbytes);
  if (!data) {
    if (budget != nullptr) budget->release(*nbytes);
    return data.error();
  }
  Tensor tensor;
  tensor.dtype_ = dtype;
  tensor.shape_ = std::move(shape);
  tensor.numel_ = numel;
  tensor.nbytes_ = *nbytes;
  tensor.device_ = device;
  tensor.data_ = *data;
  tensor.budget_ = budget;
  return tensor;
}

Tensor::Tensor(Tensor&& other) noexcept
    : dtype_(other.dtype_),
      shape_(std::move(other.shape_)),
      numel_(std::exchange(other.numel_, 0)),
      nbytes_(std::exchange(other.nbytes_, 0)),
      device_(other.device_),
      data_(std::exchange(other.data_, nullptr)),
      budget_(std::exchange(other.budget_, nullptr)) {}

Tensor& Tensor::operator=(Tensor&& other) noexcept {
  if (this == &other) return *this;
  reset();
  dtype_ = other.dtype_;
  shape_ = std::move(other.shape_);
  numel_ = std::exchange(other.numel_, 0);
  nbytes_ = std::exchange(other.nbytes_, 0);
  device_ = other.device_;
  data_ = std::exchange(other.data_, nullptr);
  budget_ = std::exchange(other.budget_, nullptr);
  return *this;
}

Tensor::~Tensor() { reset(); }

void Tensor::reset() {
  free_memory(device_, data_);
  if (budget_ != nullptr) budget_->release(nbytes_);
  data_ = nullptr;
  budget_ = nullptr;
  nbytes_ = 0;
}

llmc_dl_tensor Tensor::dl_view() const {
  return llmc_dl_tensor{
      .data = data_,
      .device = device_,
      .ndim = ndim(),
      .dtype = to_dl(dtype_),
      .shape = const_cast<int64_t*>(shape_.data()),  // DLPack's shape is non-const; nobody writes it
      .strides = nullptr,
      .byte_offset = 0,
  };
}

}  // namespace llmc
