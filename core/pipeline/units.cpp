// core/pipeline/units.cpp
#include "pipeline/units.h"

#include <fmt/format.h>

namespace llmc::pipeline {
namespace {

std::string unit_name(const model::ModuleEntry& module) {
  if (module.layer_index < 0) return module.name;
  const std::string needle = fmt::format(".{}.", module.layer_index);
  const auto pos = module.name.find(needle);
  return pos == std::string::npos ? fmt::format("layer {}", module.layer_index)
                                  : module.name.substr(0, pos + needle.size() - 1);
}

}  // namespace

std::vector<Unit> plan_units(const model::ModuleMap& map) {
  std::vector<Unit> units;
  for (size_t i = 0; i < map.modules.size(); ++i) {
    const auto& module = map.modules[i];
    if (module.layer_index >= 0 && !units.empty() && units.back().index == module.layer_index) {
      units.back().modules.push_back(i);
      continue;
    }
    units.push_back(Unit{module.layer_index, unit_name(module), {i}});
  }
  return units;
}

}  // namespace llmc::pipeline
