// core/exec/mlp.cpp - the gated MLP.
#include "exec/mlp.h"

#include <ATen/ATen.h>


namespace llmc::exec {

at::Tensor gated_mlp(const MlpNames& names, const LinearContext& layer, const at::Tensor& x) {
  const at::Tensor gate = linear(layer, names.gate, x);
  const at::Tensor up = linear(layer, names.up, x);
  return linear(layer, names.down, at::silu(gate) * up);
}

}  // namespace llmc::exec
