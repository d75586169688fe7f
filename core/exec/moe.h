// core/exec/moe.h - a sparse MoE block: softmax router, top-k experts, each a gated MLP.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "exec/mlp.h"

namespace llmc::exec {

struct MoeSpec {
  std::string router;
  std::vector<MlpNames> experts;
  int64_t top_k = 0;
  bool renormalize = false;  // divide the top-k probabilities by their sum
};

/// x [B, T, hidden] -> [B, T, hidden]: routing probabilities softmax(router(x)) in float32, top-k,
/// optionally renormalized; every token's output is the weighted sum of its experts' outputs, added in
/// expert order as transformers does. The tap sees each expert with the tokens routed to it.
at::Tensor sparse_moe(const MoeSpec& spec, const LinearContext& layer, const at::Tensor& x);

}  // namespace llmc::exec
