// core/quant/rounding.cpp - rounding onto value formats and dtypes, op for op as compressed-tensors 0.19.
#include "quant/rounding.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

namespace llmc::quant {

std::pair<at::Tensor, at::Tensor> format_range(const ValueFormat& format, c10::Device device) {
  const auto options = at::TensorOptions().dtype(at::kFloat).device(device);
  return {at::scalar_tensor(format.qmin, options), at::scalar_tensor(format.qmax, options)};
}

at::Tensor cast_to_fp4(const at::Tensor& x) {
  const at::Tensor sign = at::sign(x);
  at::Tensor y = at::abs(x);
  // CT assigns through boolean masks in this order; each value lands below the next bucket.
  y.masked_fill_(at::logical_and(y >= 0.0, y <= 0.25), 0.0);
  y.masked_fill_(at::logical_and(y > 0.25, y < 0.75), 0.5);
  y.masked_fill_(at::logical_and(y >= 0.75, y <= 1.25), 1.0);
  y.masked_fill_(at::logical_and(y > 1.25, y < 1.75), 1.5);
  y.masked_fill_(at::logical_and(y >= 1.75, y <= 2.5), 2.0);
  y.masked_fill_(at::logical_and(y > 2.5, y < 3.5), 3.0);
  y.masked_fill_(at::logical_and(y >= 3.5, y <= 5.0), 4.0);
  y.masked_fill_(y > 5.0, 6.0);
  return y * sign;
}

at::Tensor round_to_format(const at::Tensor& x, const ValueFormat& format, const at::Tensor& qmin,
                           const at::Tensor& qmax) {
  const at::Tensor clamped = at::clamp(x, qmin, qmax);
  at::Tensor rounded;
  switch (format.rounding) {
    case Rounding::half_to_even: rounded = at::round(clamped); break;
    case Rounding::float8_e4m3: rounded = clamped.to(at::kFloat8_e4m3fn); break;
    case Rounding::float4_e2m1: rounded = cast_to_fp4(clamped); break;
  }
  return rounded.to(x.scalar_type());
}

Expected<at::Tensor> round_to_dtype(const at::Tensor& x, std::string_view torch_dtype, bool cast_back) {
  const DTypeInfo* info = dtype_info(torch_dtype);
  if (info == nullptr) return Error{fmt::format("cannot round a scale or zero point to {}", torch_dtype)};
  at::Tensor rounded;
  if (info->is_float) {
    rounded = at::clamp(x, info->min, info->max).to(info->dtype);
  } else {
    rounded = at::round(at::clamp(x, info->int_min, info->int_max)).to(info->dtype);  // iinfo as Python ints
  }
  return cast_back ? rounded.to(x.scalar_type()) : rounded;
}

}  // namespace llmc::quant
