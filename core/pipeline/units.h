// core/pipeline/units.h - the units a run processes one at a time: each decoder layer, and each module
// outside the layers (embedding, final norm, head), in model order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/module_map.h"

namespace llmc::pipeline {

/// The modules processed together: one decoder layer, or one module outside the layers.
struct Unit {
  int32_t index;  // the layer index, or -1 outside the layers
  std::string name;
  std::vector<size_t> modules;  // into the module map
};

std::vector<Unit> plan_units(const model::ModuleMap& map);

}  // namespace llmc::pipeline
