// core/quant/rounding.h - compressed-tensors' rounding primitives: a value format's clamp range, rounding
// onto the format's grid, and rounding onto a scale or zero-point dtype.
#pragma once

#include <ATen/core/Tensor.h>

#include <utility>

#include "quant/value_format.h"
#include "util/expected.h"

namespace llmc::quant {

/// CT calculate_range: (qmin, qmax) as 0-dim float32 tensors on `device` (they take part in CT's type
/// promotion as 0-dim tensors, so they are tensors here too).
std::pair<at::Tensor, at::Tensor> format_range(const ValueFormat& format, c10::Device device);

/// CT round_to_quantized_type_args: clamp to [qmin, qmax] (before rounding), round onto the format's grid,
/// and return in the input's dtype.
at::Tensor round_to_format(const at::Tensor& x, const ValueFormat& format, const at::Tensor& qmin,
                           const at::Tensor& qmax);

/// CT cast_to_fp4 (its eager CPU path): the nearest E2M1 value, |x| <= 0.25 -> 0, < 0.75 -> 0.5, <= 1.25 -> 1,
/// < 1.75 -> 1.5, <= 2.5 -> 2, < 3.5 -> 3, <= 5 -> 4, else 6, with x's sign; in x's dtype.
at::Tensor cast_to_fp4(const at::Tensor& x);

/// CT round_to_quantized_type_dtype: clamp to the dtype's range, cast (integer dtypes: round half to even
/// first), and cast back to x's dtype when `cast_back`. Fails for a dtype that cannot hold it.
Expected<at::Tensor> round_to_dtype(const at::Tensor& x, std::string_view torch_dtype, bool cast_back = true);

}  // namespace llmc::quant
