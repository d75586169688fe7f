// core/format/tensor_dtype.cpp - the element types the format subsystem reads and writes.
#include "format/tensor_dtype.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <array>
#include <cassert>
#include <cstring>

namespace llmc::format {
namespace {

struct TypeRow {
  at::ScalarType scalar_type;
  DType dtype;
  std::string_view torch_name;  // without "torch."
};

constexpr std::array<TypeRow, 12> kTypes = {{
    {at::kBool, DType::BOOL, "bool"},
    {at::kByte, DType::U8, "uint8"},
    {at::kChar, DType::I8, "int8"},
    {at::kShort, DType::I16, "int16"},
    {at::kInt, DType::I32, "int32"},
    {at::kLong, DType::I64, "int64"},
    {at::kHalf, DType::F16, "float16"},
    {at::kBFloat16, DType::BF16, "bfloat16"},
    {at::kFloat, DType::F32, "float32"},
    {at::kDouble, DType::F64, "float64"},
    {at::kFloat8_e4m3fn, DType::F8_E4M3, "float8_e4m3fn"},
    {at::kFloat8_e5m2, DType::F8_E5M2, "float8_e5m2"},
}};

}  // namespace

Expected<DType> to_dtype(at::ScalarType type) {
  for (const auto& row : kTypes) {
    if (row.scalar_type == type) return row.dtype;
  }
  return Error{fmt::format("no checkpoint dtype for torch type {}", c10::toString(type))};
}

Expected<at::ScalarType> to_scalar_type(DType dtype) {
  for (const auto& row : kTypes) {
    if (row.dtype == dtype) return row.scalar_type;
  }
  return Error{fmt::format("no torch type for checkpoint dtype {}", name(dtype))};
}

Expected<at::ScalarType> scalar_type_from_torch_name(std::string_view name) {
  const std::string_view bare = name.starts_with("torch.") ? name.substr(6) : name;
  for (const auto& row : kTypes) {
    if (row.torch_name == bare) return row.scalar_type;
  }
  return Error{fmt::format("unsupported torch dtype '{}'", name)};
}

std::string shape_string(at::IntArrayRef shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

std::span<const std::byte> tensor_bytes(const at::Tensor& tensor) {
  assert(tensor.is_contiguous() && tensor.device().is_cpu());
  return {static_cast<const std::byte*>(tensor.const_data_ptr()), tensor.nbytes()};
}

Expected<at::Tensor> tensor_from_bytes(DType dtype, std::span<const int64_t> shape, std::span<const std::byte> bytes) {
  auto type = to_scalar_type(dtype);
  LLMC_TRY(type);
  at::Tensor tensor = at::empty(at::IntArrayRef(shape.data(), shape.size()), *type);
  if (tensor.nbytes() != bytes.size()) {
    return Error{fmt::format("{} bytes do not hold a {} tensor of shape [{}]", bytes.size(), name(dtype),
                             fmt::join(shape, ", "))};
  }
  if (!bytes.empty()) std::memcpy(tensor.mutable_data_ptr(), bytes.data(), bytes.size());
  return tensor;
}

}  // namespace llmc::format
