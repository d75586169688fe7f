// core/format/module_layout.cpp - qparam shapes and dtypes per strategy and format.
#include "format/module_layout.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "format/tensor_dtype.h"

namespace llmc::format {
namespace {

using recipe::QuantArgs;
using recipe::QuantType;
using recipe::Strategy;

int64_t ceil_div(int64_t value, int64_t divisor) { return (value + divisor - 1) / divisor; }

std::string describe(const QuantArgs& args) {
  return fmt::format("{} {}-bit {}", to_string(args.type), args.num_bits, to_string(*args.strategy));
}

}  // namespace

Status check_format_args(Format format, const recipe::SchemeArgs& scheme) {
  if (!scheme.weights) return Error{"the scheme quantizes no weights"};
  const QuantArgs& weights = *scheme.weights;
  if (weights.dynamic != recipe::Dynamic::off) return Error{"dynamic weights store no quantized tensors"};
  const bool is_int = weights.type == QuantType::int_;
  const bool is_float8 = weights.type == QuantType::float_ && weights.num_bits == 8;
  const bool is_float4 = weights.type == QuantType::float_ && weights.num_bits == 4;
  const int64_t group = weights.group_size.value_or(0);
  bool fits = false;
  switch (format) {
    case Format::naive_quantized: fits = is_int || is_float8; break;
    case Format::int_quantized: fits = is_int; break;
    case Format::float_quantized: fits = is_float8; break;
    case Format::pack_quantized: fits = is_int && weights.num_bits >= 1 && weights.num_bits <= 8; break;
    case Format::nvfp4_pack_quantized: fits = is_float4 && group == 16; break;
    case Format::mxfp4_pack_quantized: fits = is_float4 && group == 32; break;
    case Format::mxfp8_quantized: fits = is_float8 && group == 32; break;
  }
  if (!fits) {
    return Error{fmt::format("format '{}' cannot store {} weights{}", to_string(format), describe(weights),
                             group > 0 ? fmt::format(" (group_size {})", group) : "")};
  }
  if (!weights.symmetric && !is_int) return Error{"asymmetric float weights are not supported"};
  return Status::ok();
}

Expected<std::vector<int64_t>> weight_qparam_shape(const QuantArgs& args, at::IntArrayRef weight_shape) {
  if (weight_shape.size() != 2 && weight_shape.size() != 3) {
    return Error{fmt::format("the weight must be [out, in] or [experts, out, in], got {}", shape_string(weight_shape))};
  }
  const int64_t out = weight_shape[weight_shape.size() - 2];
  const int64_t in = weight_shape.back();
  std::vector<int64_t> shape;
  switch (*args.strategy) {
    case Strategy::tensor: shape = {1}; break;
    case Strategy::channel: shape = {out, 1}; break;
    case Strategy::group:
    case Strategy::tensor_group: shape = {out, ceil_div(in, *args.group_size)}; break;
    case Strategy::block: {
      const auto [rows, cols] = *args.block_structure;
      shape = {ceil_div(out, rows), ceil_div(in, cols)};
      break;
    }
    case Strategy::token:
    case Strategy::attn_head:
      return Error{fmt::format("strategy '{}' does not apply to weights", to_string(*args.strategy))};
  }
  if (weight_shape.size() == 3) shape.insert(shape.begin(), weight_shape[0]);
  return shape;
}

Expected<std::vector<int64_t>> activation_qparam_shape(const QuantArgs& args, int64_t features) {
  switch (*args.strategy) {
    case Strategy::tensor: return std::vector<int64_t>{1};
    case Strategy::group:
    case Strategy::tensor_group: return std::vector<int64_t>{ceil_div(features, *args.group_size)};
    default:
      return Error{fmt::format("static activations with strategy '{}' store no scale of a Linear",
                               to_string(*args.strategy))};
  }
}

at::ScalarType activation_scale_dtype(at::ScalarType dtype) {
  const bool is_float = dtype == at::kHalf || dtype == at::kBFloat16 || dtype == at::kFloat || dtype == at::kDouble;
  return is_float ? dtype : at::kHalf;
}

Expected<at::ScalarType> weight_scale_dtype(Format format, const QuantArgs& args, at::ScalarType dtype) {
  switch (traits(format).scale) {
    case ScaleStorage::weight_dtype: return activation_scale_dtype(dtype);
    case ScaleStorage::float8:
      return args.scale_dtype ? scalar_type_from_torch_name(*args.scale_dtype) : at::kFloat8_e4m3fn;
    case ScaleStorage::e8m0: return at::kByte;
  }
  return at::kByte;
}

Expected<at::ScalarType> zero_point_dtype(const QuantArgs& args) {
  return scalar_type_from_torch_name(args.zp_dtype.value_or("torch.int8"));
}

at::ScalarType unpacked_weight_dtype(const QuantArgs& args) {
  if (args.type == QuantType::float_) return at::kFloat8_e4m3fn;
  return args.num_bits <= 8 ? at::kChar : args.num_bits <= 16 ? at::kShort : at::kInt;
}

bool packs_zero_point(Format format, const QuantArgs& args) {
  return format == Format::pack_quantized && !args.symmetric &&
         (*args.strategy == Strategy::group || *args.strategy == Strategy::channel);
}

}  // namespace llmc::format
