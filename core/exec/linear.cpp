// core/exec/linear.cpp - one Linear.
#include "exec/linear.h"

#include <ATen/ATen.h>

namespace llmc::exec {

at::Tensor linear(const LayerWeights& weights, const std::string& module, const at::Tensor& x, const LinearTap* tap) {
  const auto bias = weights.find(module + ".bias");
  const at::Tensor y = at::linear(x, weights.at(module + ".weight"), bias == weights.end() ? at::Tensor() : bias->second);
  if (tap && *tap) (*tap)(module, x, y);
  return y;
}

}  // namespace llmc::exec
