// core/format/tensor_dtype.h - at::Tensor element types as llmc DTypes and torch dtype names, and a
// tensor's bytes, for writing format tensors to safetensors and reading them back.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "tensor/dtype.h"
#include "util/expected.h"

namespace llmc::format {

Expected<DType> to_dtype(at::ScalarType type);
Expected<at::ScalarType> to_scalar_type(DType dtype);
/// "torch.float8_e4m3fn" (the "torch." prefix optional) as a scalar type: the dtypes CT writes for
/// scale_dtype and zp_dtype.
Expected<at::ScalarType> scalar_type_from_torch_name(std::string_view name);

/// "[64, 128]"
std::string shape_string(at::IntArrayRef shape);

/// The bytes of a contiguous CPU tensor.
std::span<const std::byte> tensor_bytes(const at::Tensor& tensor);
/// A tensor owning a copy of `bytes` (little-endian, row-major).
Expected<at::Tensor> tensor_from_bytes(DType dtype, std::span<const int64_t> shape, std::span<const std::byte> bytes);

}  // namespace llmc::format
