// core/exec/norm.h - RMSNorm as transformers computes it.
#pragma once

#include <ATen/core/Tensor.h>

namespace llmc::exec {

/// weight * (x / sqrt(mean(x^2) + eps)), the statistics in float32 and the result cast back to x's
/// dtype before the weight multiplies it (LlamaRMSNorm's order).
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps);

}  // namespace llmc::exec
