// core/exec/mlp.h - the gated MLP: down(silu(gate(x)) * up(x)).
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

#include "exec/tap.h"

namespace llmc::exec {

struct MlpNames {
  std::string gate, up, down;
};

at::Tensor gated_mlp(const MlpNames& names, const LayerWeights& weights, const at::Tensor& x, const LinearTap* tap);

}  // namespace llmc::exec
