// core/exec/mlp.cpp - the gated MLP.
#include "exec/mlp.h"

#include <ATen/ATen.h>


namespace llmc::exec {

at::Tensor gated_mlp_down_input(const MlpNames& names, const LinearContext& layer, const at::Tensor& x) {
  const at::Tensor gate = linear(layer, names.gate, x);
  const at::Tensor up = linear(layer, names.up, x);
  return at::silu(gate) * up;
}

at::Tensor gated_mlp(const MlpNames& names, const LinearContext& layer, const at::Tensor& x) {
  return linear(layer, names.down, gated_mlp_down_input(names, layer, x));
}

}  // namespace llmc::exec
