// core/format/e8m0.h - MX scales as E8M0 bytes: a byte E stands for 2^(E-127) (compressed-tensors
// mx_utils.compress_mx_scale / decompress_mx_scale).
#pragma once

#include <ATen/core/Tensor.h>

#include "util/expected.h"

namespace llmc::format {

/// Power-of-two float scales (any float dtype) to uint8 E = 127 + log2(scale); a uint8 tensor is taken as
/// already encoded. CT computes 127 + floor(log2(scale)) and wraps it into uint8; llmc refuses a scale that
/// is not a power of two in [2^-127, 2^127] instead, since the quant core's MX scales always are.
Expected<at::Tensor> encode_e8m0(const at::Tensor& scale);
/// uint8 E to float32 2^(E-127).
at::Tensor decode_e8m0(const at::Tensor& exponents);

}  // namespace llmc::format
