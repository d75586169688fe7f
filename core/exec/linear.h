// core/exec/linear.h - one Linear of a layer, read from the layer's weights and reported to the tap.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

#include "exec/tap.h"

namespace llmc::exec {

/// x W^T (+ b) with "<module>.weight" (and "<module>.bias" when present) of `weights`.
at::Tensor linear(const LayerWeights& weights, const std::string& module, const at::Tensor& x, const LinearTap* tap);

}  // namespace llmc::exec
