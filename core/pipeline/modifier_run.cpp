// core/pipeline/modifier_run.cpp
#include "pipeline/modifier_run.h"

#include <fmt/format.h>

#include <algorithm>

#include "recipe/quant_args.h"

namespace llmc::pipeline {

std::vector<llmc_module_info> ModifierRun::modules_in(std::span<const size_t> unit_modules) const {
  std::vector<llmc_module_info> mine;
  for (size_t i = 0; i < infos.size(); ++i)
    if (std::find(unit_modules.begin(), unit_modules.end(), module_indices[i]) != unit_modules.end())
      mine.push_back(infos[i]);
  return mine;
}

Status ModifierRun::set_weight_arg(int32_t group, std::string_view key, std::string_view value_json) {
  if (group < 0 || static_cast<size_t>(group) >= group_schemes.size())
    return Error{fmt::format("scheme_set_weight_arg: group {} does not exist ({} groups)", group, group_schemes.size())};
  nlohmann::json& weights = group_schemes[static_cast<size_t>(group)]["weights"];
  if (!weights.is_object()) return Error{fmt::format("scheme_set_weight_arg: group {} quantizes no weights", group)};
  if (!weights.contains(key)) return Error{fmt::format("scheme_set_weight_arg: weights have no field '{}'", key)};
  nlohmann::json patched = weights;
  try {
    patched[std::string(key)] = nlohmann::json::parse(value_json);
  } catch (const nlohmann::json::exception& e) {
    return Error{fmt::format("scheme_set_weight_arg {}: {} is not JSON: {}", key, value_json, e.what())};
  }
  if (auto args = recipe::quant_args_from_json(patched); !args)
    return Error{fmt::format("scheme_set_weight_arg {} = {}: {}", key, value_json, args.error().message)};
  weights = std::move(patched);
  return Status::ok();
}

void ModifierRun::refresh_scheme_json() {
  for (size_t i = 0; i < infos.size(); ++i) {
    if (infos[i].group_index < 0) continue;
    schemes[i] = group_schemes[static_cast<size_t>(infos[i].group_index)].dump();
    infos[i].scheme_json = schemes[i].c_str();
  }
}

}  // namespace llmc::pipeline
