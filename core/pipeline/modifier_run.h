// core/pipeline/modifier_run.h - one recipe modifier bound to its plugin instance and to the modules it
// resolved to.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "llmc/plugin.h"
#include "pipeline/layer_unit.h"
#include "plugin/plugin_instance.h"
#include "plugin/plugin_library.h"
#include "recipe/plugin_options.h"
#include "recipe/recipe.h"

namespace llmc::pipeline {

struct ModifierRun {
  const recipe::Modifier* modifier = nullptr;
  std::shared_ptr<plugin::PluginLibrary> library;
  recipe::OptionValues options;
  std::unique_ptr<plugin::PluginInstance> instance;
  std::vector<nlohmann::json> group_schemes;  // the modifier's group schemes, as the plugin may refine them
  std::vector<std::string> schemes;       // storage behind infos[i].scheme_json
  std::vector<llmc_module_info> infos;    // the resolved modules, in model order
  std::vector<size_t> module_indices;     // into the module map, parallel to infos
  SchemeMap schemes_by_module;            // for quant_weight: module -> its scheme in this modifier

  /// The resolved modules among `unit_modules` (indices into the module map), in model order.
  std::vector<llmc_module_info> modules_in(std::span<const size_t> unit_modules) const;
  /// scheme_set_weight_arg: weights.`key` = `value_json` in group `group`'s scheme, checked as quantization args.
  Status set_weight_arg(int32_t group, std::string_view key, std::string_view value_json);
  /// Re-renders infos[i].scheme_json from group_schemes (after initialize).
  void refresh_scheme_json();
  bool calibrates() const { return library->descriptor().calibrate != nullptr; }
};

}  // namespace llmc::pipeline
