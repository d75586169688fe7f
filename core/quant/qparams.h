// core/quant/qparams.h - quantization parameters (scale, zero point, global scale, g_idx) from observed
// ranges: compressed-tensors' calculate_qparams, generate_gparam and dynamic qparams, op for op.
#pragma once

#include <ATen/core/Tensor.h>

#include <optional>
#include <span>

#include "recipe/quant_args.h"
#include "util/expected.h"

namespace llmc::quant {

/// The qparams of one quantized tensor, shaped per strategy for a weight [out, in] (an [E, out, in]
/// weight gains a leading E): tensor [1], channel [out, 1], group / tensor_group [out, in/G],
/// block [ceil(out/bh), ceil(in/bw)]; dynamic token [.., tokens, 1].
struct QParams {
  at::Tensor scale;  // float; the weight's dtype for weight qparams (NVFP4: fp8-representable values)
  /// zp_dtype (int8 for int, float8_e4m3fn / uint8 for float). CT keeps zeros here for symmetric args
  /// (and adds them in quantize); the format writer drops a symmetric zero point, as CT does on save.
  std::optional<at::Tensor> zero_point;
  std::optional<at::Tensor> global_scale;  // float32 [1], a multiplier; strategy tensor_group only
  /// int, one group index per input column (GPTQ's activation ordering), for group / tensor_group:
  /// quantize, dequantize and fake_quantize take column c's scale from group g_idx[c].
  std::optional<at::Tensor> g_idx;
};

/// Observer statistics: the min and max of each reduction set, shaped like the scale.
struct MinMax {
  at::Tensor min_vals;
  at::Tensor max_vals;
};

/// CT calculate_qparams, in the dtype of `range`: include zero; symmetric max|x|/((qmax-qmin)/2) or the MX
/// exponent; asymmetric (max-min)/(qmax-qmin) with zero point qmin - min/scale clamped; times the global
/// scale; rounded to scale_dtype; MX exponent to power of two; zero scales to the dtype's eps; zero point
/// rounded to zp_dtype. The scale keeps the arithmetic's dtype (float32 with a global scale).
Expected<QParams> calculate_qparams(const MinMax& range, const recipe::QuantArgs& args,
                                    const std::optional<at::Tensor>& global_scale = std::nullopt);

/// CT generate_gparam (NVFP4): 448*6 / max(|min|, |max|, finfo.tiny) as float32 [1], NaN or Inf -> 1. The
/// division happens in the statistics' dtype (bf16 statistics give a bf16-rounded global scale).
at::Tensor compute_global_scale(const MinMax& range);

/// compute_global_scale of a tensor's absolute maximum `amax` (any shape; its max is taken).
at::Tensor compute_global_scale(const at::Tensor& amax);

/// The global scale that fused siblings share (q/k/v, gate/up: LLM Compressor's fusion groups), from each
/// member's weight-observer statistics: the max over members of max(max_vals) and -min(min_vals).
at::Tensor fused_global_scale(std::span<const MinMax> members);

/// CT compute_dynamic_scales_and_zp: qparams computed from the value itself. token reduces every dim but
/// the first two (a 2-D value is thus reduced whole, as CT does); tensor reduces all; group and
/// tensor_group reduce groups of group_size along the last dim.
Expected<QParams> compute_dynamic_qparams(const at::Tensor& value, const recipe::QuantArgs& args,
                                          const std::optional<at::Tensor>& global_scale = std::nullopt);

}  // namespace llmc::quant
