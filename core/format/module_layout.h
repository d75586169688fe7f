// core/format/module_layout.h - what a quantized module stores per format and args: which qparams, their
// shapes and dtypes (compressed-tensors 0.19 initialize_qparams and the compressors). Shared by the
// writer and the reader.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "format/quantized_module.h"
#include "format/tensor_dtype.h"
#include "util/expected.h"

namespace llmc::format {

/// The weight args can be stored in the format: pack-quantized needs int 1..8 bits; nvfp4 float 4-bit
/// tensor_group 16; mxfp4 float 4-bit group 32; mxfp8 float 8-bit group 32; float-quantized float 8-bit;
/// int-quantized int; naive-quantized int or float 8-bit. Weights are never dynamic.
Status check_format_args(Format format, const recipe::SchemeArgs& scheme);

/// The shape of weight_scale (and of an unpacked weight_zero_point) for a weight of `weight_shape`
/// ([out, in], or [E, out, in]: the 2-D shape gains a leading E, as compressed-tensors.md 4 says; CT 0.19's
/// compressors never see 3-D weights, since LLM Compressor splits fused experts into 2-D Linears).
Expected<std::vector<int64_t>> weight_qparam_shape(const recipe::QuantArgs& args, at::IntArrayRef weight_shape);
/// The shape of a static activation scale over the last dim of size `features`.
Expected<std::vector<int64_t>> activation_qparam_shape(const recipe::QuantArgs& args, int64_t features);

/// The stored dtype of weight_scale. CT 0.19 stores the scales of the int/naive/pack formats in the weight
/// dtype whatever scale_dtype says (initialize_qparams allocates them so; the observer copies into them);
/// NVFP4 casts to scale_dtype (default float8_e4m3fn); MX formats store E8M0 bytes.
Expected<at::ScalarType> weight_scale_dtype(Format format, const recipe::QuantArgs& args, at::ScalarType dtype);
/// The dtype of activation scales: the weight dtype (float16 when that is no float type).
at::ScalarType activation_scale_dtype(at::ScalarType dtype);
/// zp_dtype (int8 by default for int args).
Expected<at::ScalarType> zero_point_dtype(const recipe::QuantArgs& args);
/// The stored dtype of unpacked quantized weights: int8 / int16 / int32 by width, float8_e4m3fn for float.
at::ScalarType unpacked_weight_dtype(const recipe::QuantArgs& args);
/// pack-quantized packs the zero points of asymmetric group and channel weights (along dim 0); others are
/// stored unpacked in zp_dtype. (compressed-tensors.md 4.3 lists zero points for group/channel only; CT 0.19
/// keeps an asymmetric tensor or block zero point too, unpacked: int8 [1] for tensor.)
bool packs_zero_point(Format format, const recipe::QuantArgs& args);

}  // namespace llmc::format
