// core/pipeline/plugin_costs.h - what the stock plugins' callbacks cost per unit, in time and memory, for the
// plan: their calibrate beyond the forward pass, and their compress. Keyed by plugin name; a plugin without a
// model here gets its forward passes counted and its own work not.
#pragma once

#include <string>
#include <vector>

#include "pipeline/layer_cost.h"
#include "pipeline/modifier_run.h"

namespace llmc::pipeline {

/// The Linears a modifier claims in a unit, and those of them its schemes quantize.
struct ClaimedLinears {
  std::vector<const LinearShape*> all, quantized;
};

/// Beyond the forward pass of a decoder layer: Hessians (gptq, sparsegpt), cached inputs (awq); the other
/// stock plugins keep per-channel sums, which cost nothing to speak of.
Cost calibrate_cost(const std::string& plugin, const ClaimedLinears& linears, const UnitShape& shape,
                    const LayerCost& layer);

/// Compress on a unit; `layer` is null outside a calibrated run's decoder layers. Sets `known` false for a
/// plugin without a cost model.
Cost compress_cost(const ModifierRun& run, const ClaimedLinears& linears, const UnitShape& shape,
                   const MachineRates& rates, const LayerCost* layer, bool& known);

}  // namespace llmc::pipeline
