// core/format/quantized_module.h - one quantized module as the quant core hands it over (quantized weight
// values and qparams), and its tensors on disk in a given format (compressed-tensors.md section 4).
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "format/format.h"
#include "recipe/quant_scheme.h"
#include "util/expected.h"

namespace llmc::format {

/// The qparams of one quantized tensor; an undefined at::Tensor is an absent qparam.
struct QParams {
  at::Tensor scale;         // shape per strategy; absent for dynamic quantization
  at::Tensor zero_point;    // integer values; only for asymmetric args (a symmetric one is dropped, as CT does)
  at::Tensor global_scale;  // [1], a multiplier (448*6/amax); only for strategy tensor_group
};

/// A quantized Linear-like module. The weight is [out, in], or [E, out, in] for fused MoE experts, whose
/// qparams then gain a leading E.
///
/// `weight` holds the quantized values, by the weights' args:
///   int (any format but the fp4 ones): integers in [-2^(b-1), 2^(b-1)); int8 for pack-quantized, any
///     integer dtype for the unpacked formats (stored as int8, int16 beyond 8 bits, int32 beyond 16);
///   float 8-bit: float8_e4m3fn (another float dtype is cast to it);
///   float 4-bit (nvfp4/mxfp4): a float tensor of E2M1 values {0, ±0.5, ±1, ±1.5, ±2, ±3, ±4, ±6}; the
///     sign of a zero is kept (-0.0 is code 0x8).
/// Scales are float tensors (cast to the stored dtype: `dtype` when the format stores scales in the weight
/// dtype, scale_dtype or float8_e4m3fn for NVFP4); MX scales are powers of two or uint8 E8M0 bytes.
struct QuantizedModule {
  std::string name;  // "model.layers.0.mlp.down_proj"
  Format format = Format::naive_quantized;
  recipe::SchemeArgs scheme;          // `weights` is required
  at::ScalarType dtype = at::kBFloat16; // the original (float) weight's dtype
  at::Tensor weight;
  QParams weight_qparams;
  at::Tensor g_idx;  // [in], the group of each input column; only with activation ordering
  QParams input_qparams;
  QParams output_qparams;
};

struct NamedTensor {
  std::string name;  // "<module>.<local name>", e.g. "model.layers.0.mlp.down_proj.weight_packed"
  at::Tensor tensor; // contiguous, on the CPU
};

/// The module's tensors as compressed-tensors 0.19 writes them: `weight` (unpacked formats) or
/// `weight_packed` (+ `weight_shape` int64 for pack-quantized), `weight_scale`, `weight_zero_point`
/// (asymmetric only; packed int32 along dim 0 for pack-quantized group/channel), `weight_global_scale`,
/// `weight_g_idx` (int32), and the `input_`/`output_` `scale`, `zero_point`, `global_scale` that static or
/// tensor_group activations store. Every error names the module.
Expected<std::vector<NamedTensor>> compress_module(const QuantizedModule& module);

/// A module's stored tensors by local name ("weight_packed"); nullptr when absent.
using TensorLookup = std::function<const at::Tensor*(std::string_view local_name)>;

/// The inverse of compress_module: the quantized values and qparams of module `name` stored in `format`
/// with `scheme`. Qparams come back as stored (MX scales as E8M0 bytes, NVFP4 scales as float8),
/// packed zero points unpacked to int8. `dtype` is the stored scale's dtype where the format keeps
/// scales in the weight dtype, else `fallback_dtype` (the checkpoint's torch_dtype).
Expected<QuantizedModule> read_module(std::string name, Format format, const recipe::SchemeArgs& scheme,
                                      const TensorLookup& tensors, at::ScalarType fallback_dtype);

}  // namespace llmc::format
