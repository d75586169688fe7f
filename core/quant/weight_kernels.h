// core/quant/weight_kernels.h - one-pass kernels for the common weight path (int and FP8 values per tensor,
// channel or group): the min and max the weight observer takes, and quantize. Each gives the values that
// compressed-tensors' and LLM Compressor's torch ops give, bit for bit, without their full-size temporaries.
#pragma once

#include <ATen/core/Tensor.h>

#include <optional>

#include "quant/qparams.h"
#include "quant/value_format.h"
#include "recipe/quant_args.h"

namespace llmc::quant {

/// The memoryless min-max observer's statistics of a weight (amin and amax over each reduction set, in the
/// weight's dtype, a NaN in a set giving NaN), shaped as its qparams: tensor [1], channel [out, 1], group
/// [out, in / group_size]. nullopt where it does not apply (the caller flattens and reduces with torch):
/// the weight not a contiguous 2-D CPU bfloat16/float16/float32 tensor, another strategy, or a group size
/// that does not divide the width.
std::optional<MinMax> fused_weight_min_max(const at::Tensor& weight, const recipe::QuantArgs& args);

/// CT's quantize of `x` bit for bit: x / scale in the promoted dtype of x and the scale, plus the zero point
/// (in x's dtype), clamp to the format's range, round half to even (int) or cast (float8), storage dtype.
/// Each step rounds to its op's dtype as ATen does (float arithmetic, then the dtype). nullopt where it does
/// not apply and the op-by-op path must run: x not as fused_weight_min_max takes it, qparams not shaped as
/// the strategy's, a global scale or g_idx, float4 values, or integers wider than 8 bits.
std::optional<at::Tensor> fused_quantize(const at::Tensor& x, const QParams& qparams, const recipe::QuantArgs& args,
                                         const ValueFormat& format);

}  // namespace llmc::quant
