// core/pipeline/layer_cost.cpp
#include "pipeline/layer_cost.h"

#include <algorithm>

namespace llmc::pipeline {

const LinearShape* UnitShape::linear(std::string_view name) const {
  const auto it = std::find_if(linears.begin(), linears.end(), [&](const auto& l) { return l.name == name; });
  return it == linears.end() ? nullptr : &*it;
}

// 2 in out FLOPs per token it sees, at the rate measured for its shape.
double LayerCost::linear_seconds(const LinearShape& linear) const {
  return 2 * linear.elements() * linear.active * tokens.total / rates.linear_rate(linear.in, linear.out);
}

// Every Linear, and the eager attention's t^2 per head and sample.
double LayerCost::forward_seconds(const UnitShape& shape) const {
  double seconds = static_cast<double>(arch.num_heads) * tokens.squares * rates.attention_seconds;
  for (const auto& linear : shape.linears) seconds += linear_seconds(linear);
  return seconds;
}

// Eager attention's scores [heads, t, t] in the dtype, their masked sum, the float32 softmax and its cast;
// the MLP's gate, up and product [t, intermediate]; residual and norm outputs [t, hidden].
uint64_t LayerCost::forward_scratch() const {
  const double t = static_cast<double>(tokens.longest);
  const double attention = static_cast<double>(arch.num_heads) * t * t * (3 * dtype_size + 4);
  const double intermediate = static_cast<double>(std::max(arch.intermediate_size, arch.expert_intermediate_size));
  return static_cast<uint64_t>(attention + t * (3 * intermediate + 4 * hidden()) * dtype_size);
}

}  // namespace llmc::pipeline
