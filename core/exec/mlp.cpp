// core/exec/mlp.cpp - the gated MLP.
#include "exec/mlp.h"

#include <ATen/ATen.h>

#include "exec/linear.h"

namespace llmc::exec {

at::Tensor gated_mlp(const MlpNames& names, const LayerWeights& weights, const at::Tensor& x, const LinearTap* tap) {
  const at::Tensor gate = linear(weights, names.gate, x, tap);
  const at::Tensor up = linear(weights, names.up, x, tap);
  return linear(weights, names.down, at::silu(gate) * up, tap);
}

}  // namespace llmc::exec
