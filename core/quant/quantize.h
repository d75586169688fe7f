// core/quant/quantize.h - quantize, dequantize and fake-quantize a tensor with its qparams: compressed-
// tensors' forward.py / forward_helpers.py, the same torch ops in the same order and dtypes.
#pragma once

#include <ATen/core/Tensor.h>

#include "quant/qparams.h"
#include "recipe/quant_args.h"
#include "util/expected.h"

namespace llmc::quant {

/// The quantized values of `x` as CT's compressors produce them before packing, in the format's
/// storage dtype (ValueFormat::storage_dtype): int -> int8 (int16 beyond 8 bits, int32 beyond 16),
/// float8 -> float8_e4m3fn, float4 -> x's float dtype holding E2M1 values {0, ±.5, ±1, ±1.5, ±2, ±3, ±4,
/// ±6} (a negative value that rounds to zero gives -0.0). Block strategies pad to whole blocks and cut
/// back to x's shape. Fails for a shape the strategy cannot split (group: in % group_size != 0).
Expected<at::Tensor> quantize(const at::Tensor& x, const QParams& qparams, const recipe::QuantArgs& args);

/// CT dequantize: (q - zero_point) * scale / global_scale, computed in the scale's dtype (float32 with
/// a global scale), returned as `dtype`.
Expected<at::Tensor> dequantize(const at::Tensor& q, const QParams& qparams, const recipe::QuantArgs& args,
                                at::ScalarType dtype);

/// CT fake_quantize (quantize then dequantize in one pass, as forward_quantize runs it): x / scale in the
/// promoted dtype of x and the scale (bf16 for bf16 weights), zero point added, clamped, rounded, then
/// (q - zero_point) * scale. The result has x's dtype for group / tensor_group and the scale's dtype
/// otherwise (as CT returns them).
Expected<at::Tensor> fake_quantize(const at::Tensor& x, const QParams& qparams, const recipe::QuantArgs& args);

}  // namespace llmc::quant
