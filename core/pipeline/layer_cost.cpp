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
// the MLP's gate, up and product [t, intermediate]; residual and norm outputs [t, hidden]. Widened products
// add the float32 scores and probabilities, and a Linear's float32 weight, input and output.
uint64_t LayerCost::forward_scratch() const {
  const double t = static_cast<double>(tokens.longest);
  const double squares = static_cast<double>(arch.num_heads) * t * t;
  const double intermediate = static_cast<double>(std::max(arch.intermediate_size, arch.expert_intermediate_size));
  double bytes = squares * (3 * dtype_size + 4) + t * (3 * intermediate + 4 * hidden()) * dtype_size;
  if (widened) bytes += squares * 8 + (intermediate * hidden() + t * (intermediate + hidden())) * 4;
  return static_cast<uint64_t>(bytes);
}

}  // namespace llmc::pipeline
