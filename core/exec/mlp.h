// core/exec/mlp.h - the gated MLP: down(silu(gate(x)) * up(x)).
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

#include "exec/linear.h"

namespace llmc::exec {

struct MlpNames {
  std::string gate, up, down;
};

at::Tensor gated_mlp(const MlpNames& names, const LinearContext& layer, const at::Tensor& x);
/// The down projection's input, silu(gate(x)) * up(x): gated_mlp without its last matmul.
at::Tensor gated_mlp_down_input(const MlpNames& names, const LinearContext& layer, const at::Tensor& x);

}  // namespace llmc::exec
