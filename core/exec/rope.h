// core/exec/rope.h - rotary position embeddings (default, linear, llama3 and dynamic-NTK frequencies).
#pragma once

#include <ATen/core/Tensor.h>

#include "exec/weight_source.h"
#include "model/architecture.h"

namespace llmc::exec {

class Rope {
 public:
  /// The inverse frequencies [head_dim/2] in float32, computed as transformers' rope init functions do.
  Rope(const model::RopeConfig& config, int64_t head_dim, at::Device device);

  /// cos and sin [B, T, head_dim] for integer positions [B, T], computed in float32, returned as `dtype`.
  /// Dynamic NTK rescales the base for a batch whose positions reach past max_position_embeddings (as
  /// transformers does for a sequence longer than any before it; llmc decides per batch, without history).
  std::pair<at::Tensor, at::Tensor> cos_sin(const at::Tensor& positions, at::ScalarType dtype) const;

  /// x * cos + rotate_half(x) * sin for x [B, heads, T, head_dim].
  static at::Tensor apply(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

 private:
  model::RopeConfig config_;
  int64_t head_dim_;
  at::Tensor inv_freq_;
};

}  // namespace llmc::exec
