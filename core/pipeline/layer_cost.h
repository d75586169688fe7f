// core/pipeline/layer_cost.h - the shapes the plan counts work on (from the safetensors headers), and what a
// decoder layer's forward pass over the calibration samples costs (exec/decoder_layer.cpp, eager attention).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/architecture.h"
#include "pipeline/machine_rates.h"

namespace llmc::pipeline {

/// The calibration samples' token counts.
struct Tokens {
  double total = 0;    // the sum of t over samples
  double squares = 0;  // the sum of t^2: eager attention scores every query against every key
  int64_t longest = 0;
};

struct LinearShape {
  std::string name;
  int64_t in = 0, out = 0;
  double active = 1;   // the share of tokens it sees: top_k / experts for an MoE expert
  uint64_t bytes = 0;  // its weight, as stored

  double elements() const { return static_cast<double>(in) * static_cast<double>(out); }
};

/// A unit's modules as the checkpoint's headers describe them.
struct UnitShape {
  std::vector<std::string> names;
  std::vector<LinearShape> linears;
  uint64_t bytes = 0;  // every tensor of the unit, as stored
  double elements = 0;

  const LinearShape* linear(std::string_view name) const;
};

/// Seconds, and the bytes held at the peak, of one step.
struct Cost {
  double seconds = 0;
  uint64_t bytes = 0;
};

/// A calibrated run's decoder layers on this machine.
struct LayerCost {
  const MachineRates& rates;
  const model::Architecture& arch;
  Tokens tokens;
  double dtype_size;  // of the compute dtype
  bool widened = false;  // 16-bit products computed in float32 (exec::MatmulMath::float32)

  double hidden() const { return static_cast<double>(arch.hidden_size); }
  /// One pass of a layer over every sample.
  double forward_seconds(const UnitShape& shape) const;
  /// The seconds of one Linear's share of a pass.
  double linear_seconds(const LinearShape& linear) const;
  /// What a pass holds besides the weights and the cache, for the longest sample.
  uint64_t forward_scratch() const;
};

}  // namespace llmc::pipeline
