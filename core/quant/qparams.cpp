// core/quant/qparams.cpp - calculate_qparams, generate_gparam and dynamic qparams, the same torch ops in
// the same order and dtypes as compressed-tensors 0.19 (quantization/utils/helpers.py, mxfp_utils.py).
#include "quant/qparams.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <cstdint>

#include "quant/rounding.h"
#include "quant/value_format.h"

namespace llmc::quant {
namespace {

// CT round_to_power_2: keep sign and exponent after adding a quarter of the exponent's unit to the bits, so
// a significand >= 1.75 rounds up to the next power of two.
Expected<at::Tensor> round_to_power_2(const at::Tensor& x) {
  int mantissa = 0, exponent = 0;
  at::ScalarType bits_type = at::kUInt32;
  switch (x.scalar_type()) {
    case at::kBFloat16: mantissa = 7; exponent = 8; bits_type = at::kUInt16; break;
    case at::kHalf: mantissa = 10; exponent = 5; bits_type = at::kUInt16; break;
    case at::kFloat: mantissa = 23; exponent = 8; bits_type = at::kUInt32; break;
    case at::kDouble: mantissa = 52; exponent = 11; bits_type = at::kUInt64; break;
    default: return Error{fmt::format("MX scales need a float16/bfloat16/float32/float64 range, got {}",
                                      c10::toString(x.scalar_type()))};
  }
  const bool wide64 = bits_type == at::kUInt64;
  const uint64_t add = uint64_t{1} << (mantissa - 2);  // CT: 1 << (mantissa - FP4 mantissa - 1)
  const uint64_t mask = ((uint64_t{1} << (exponent + 1)) - 1) << mantissa;
  // CT passes the mask as a Python int, which the kernel narrows to the tensor's int32/int64.
  const int64_t narrowed_mask = wide64 ? static_cast<int64_t>(mask) : static_cast<int32_t>(static_cast<uint32_t>(mask));
  const at::Tensor bits = x.view(bits_type).to(wide64 ? at::kLong : at::kInt);
  const at::Tensor rounded = at::bitwise_and(bits + static_cast<int64_t>(add), narrowed_mask);
  if (bits_type == at::kUInt16) return rounded.to(at::kUInt16).view(x.scalar_type());
  return rounded.view(x.scalar_type());
}

// CT generate_mx_scales: the biased E8M0 exponent 127 + floor(log2(pow2(amax))) - offset, in amax's dtype.
Expected<at::Tensor> generate_mx_scales(const at::Tensor& amax, const ValueFormat& format) {
  auto power = round_to_power_2(amax);
  LLMC_TRY(power);
  return at::sub(at::add(at::floor(at::log2(*power)), 127), format.mx_exponent_offset);
}

// CT _get_dtype_eps: what a zero scale becomes.
double scale_eps(const DTypeInfo& info) {
  if (info.dtype == at::kFloat8_e4m3fn) return 0.125;
  return info.is_float ? info.eps : 1.0;
}

}  // namespace

Expected<QParams> calculate_qparams(const MinMax& range, const recipe::QuantArgs& args,
                                    const std::optional<at::Tensor>& global_scale) {
  auto format = value_format(args);
  LLMC_TRY(format);
  if (!args.zp_dtype) return Error{"quantization args without zp_dtype (finalize them first)"};
  const at::Tensor min_vals = at::minimum(range.min_vals, at::zeros_like(range.min_vals));
  const at::Tensor max_vals = at::maximum(range.max_vals, at::zeros_like(range.max_vals));
  const auto [bit_min, bit_max] = format_range(*format, min_vals.device());
  const at::Tensor bit_range = bit_max - bit_min;

  at::Tensor scales, zero_points;
  if (args.symmetric) {
    const at::Tensor max_val_pos = at::maximum(at::abs(min_vals), at::abs(max_vals));
    if (is_mx(args)) {
      auto exponents = generate_mx_scales(max_val_pos, *format);
      LLMC_TRY(exponents);
      scales = *exponents;
    } else {
      scales = max_val_pos / (bit_range.to(max_val_pos.scalar_type()) / 2);
    }
    zero_points = at::zeros(scales.sizes(), min_vals.options());
  } else {
    if (format->rounding == Rounding::float4_e2m1) return Error{"asymmetric quantization is not supported for FP4"};
    scales = (max_vals - min_vals) / bit_range.to(max_vals.scalar_type());
    zero_points = at::clamp(bit_min - min_vals / scales, bit_min, bit_max);
  }
  if (global_scale) scales = *global_scale * scales;
  if (args.scale_dtype) {
    auto rounded = round_to_dtype(scales, *args.scale_dtype);
    LLMC_TRY(rounded);
    scales = *rounded;
  }
  if (is_mx(args)) {  // CT maybe_convert_from_mx_exp: the E8M0 exponent becomes the power of two
    const at::Tensor exponent = scales.to(at::kInt) - 127;
    scales = at::pow(2.0, exponent.to(at::kFloat)).to(scales.scalar_type());
  }
  const DTypeInfo* eps_dtype = args.scale_dtype ? dtype_info(*args.scale_dtype) : dtype_info(scales.scalar_type());
  if (eps_dtype == nullptr) return Error{fmt::format("unsupported scale dtype {}", c10::toString(scales.scalar_type()))};
  scales = at::where(scales == 0, at::scalar_tensor(scale_eps(*eps_dtype), scales.options()), scales);
  auto zp = round_to_dtype(zero_points, *args.zp_dtype, /*cast_back=*/false);
  LLMC_TRY(zp);
  if (scales.dim() == 0) return QParams{scales.reshape({1}), zp->reshape({1}), global_scale, std::nullopt};
  return QParams{scales, *zp, global_scale, std::nullopt};
}

at::Tensor compute_global_scale(const MinMax& range) {
  const at::Tensor min_vals = at::minimum(range.min_vals, at::zeros_like(range.min_vals));
  const at::Tensor max_vals = at::maximum(range.max_vals, at::zeros_like(range.max_vals));
  const at::Tensor max_val_pos = at::maximum(at::abs(min_vals), at::abs(max_vals));
  const DTypeInfo* info = dtype_info(max_val_pos.scalar_type());
  const at::Tensor clamped = at::clamp_min(max_val_pos, info != nullptr ? info->tiny : 0.0);
  // Python's `float / tensor` is tensor.reciprocal() * float: two roundings in the statistics' dtype.
  const at::Tensor global = at::reciprocal(clamped) * (448.0 * 6.0);
  return at::nan_to_num(global, 1.0, 1.0, 1.0).to(at::kFloat).reshape({1});
}

at::Tensor compute_global_scale(const at::Tensor& amax) {
  const at::Tensor max = amax.max().reshape({1});
  return compute_global_scale(MinMax{-max, max});
}

at::Tensor fused_global_scale(std::span<const MinMax> members) {
  // LLM Compressor Observer.get_global_scale over the fusion group, in its order of maxima.
  at::Tensor absmax = members.front().max_vals.max();
  for (const MinMax& member : members) {
    absmax = at::maximum(absmax, -member.min_vals.min());
    absmax = at::maximum(absmax, member.max_vals.max());
  }
  return compute_global_scale(MinMax{-absmax.reshape({1}), absmax.reshape({1})});
}

Expected<QParams> compute_dynamic_qparams(const at::Tensor& value, const recipe::QuantArgs& args,
                                          const std::optional<at::Tensor>& global_scale) {
  if (!args.strategy) return Error{"quantization args without a strategy (finalize them first)"};
  at::Tensor min_vals, max_vals;
  switch (*args.strategy) {
    case recipe::Strategy::token: {
      std::vector<int64_t> dims;
      for (int64_t d = 2; d < value.dim(); ++d) dims.push_back(d);
      if (dims.empty()) {
        std::tie(min_vals, max_vals) = at::aminmax(value);
      } else {
        min_vals = at::amin(value, dims, /*keepdim=*/true);
        max_vals = at::amax(value, dims, /*keepdim=*/true);
      }
      break;
    }
    case recipe::Strategy::tensor: std::tie(min_vals, max_vals) = at::aminmax(value); break;
    case recipe::Strategy::group:
    case recipe::Strategy::tensor_group: {
      const int64_t group_size = args.group_size.value_or(0);
      const int64_t columns = value.size(-1);
      if (group_size <= 0 || columns % group_size != 0) {
        return Error{fmt::format("dynamic group quantization needs the last dim ({}) divisible by group_size {}",
                                 columns, group_size)};
      }
      const at::Tensor groups = value.unflatten(-1, {columns / group_size, group_size});
      min_vals = at::amin(groups, -1);
      max_vals = at::amax(groups, -1);
      break;
    }
    default:
      return Error{fmt::format("dynamic quantization supports strategies token, tensor, group and tensor_group, "
                               "not {}", recipe::to_string(*args.strategy))};
  }
  return calculate_qparams(MinMax{min_vals, max_vals}, args, global_scale);
}

}  // namespace llmc::quant
