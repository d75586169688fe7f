// core/pipeline/quantization_plan.cpp
#include "pipeline/quantization_plan.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <numeric>

#include "format/quantization_config.h"
#include "pipeline/activation_observers.h"

namespace llmc::pipeline {
namespace {

bool is_local(const nlohmann::json& args) {
  return args.is_object() && args.value("dynamic", nlohmann::json(false)) == nlohmann::json("local");
}

}  // namespace

std::optional<std::string> calibration_reason(const recipe::Modifier& modifier) {
  if (modifier.kv_cache_scheme)
    return fmt::format("{}: {}: kv_cache_scheme (the KV scales are observed on calibration data)",
                       modifier.kv_cache_scheme->location.str(), modifier.label());
  for (const auto& group : modifier.groups) {
    if (const auto& weights = group.scheme["weights"]; needs_input_importance(weights))
      return fmt::format("{}: {}: weights observed with {} (weighted by the importance of the inputs)",
                         group.location.str(), modifier.label(), weights["observer"].get<std::string>());
    for (const char* key : {"input_activations", "output_activations"}) {
      const auto& args = group.scheme[key];
      if (!needs_calibration(args)) continue;
      return fmt::format("{}: {}: {} {}", group.location.str(), modifier.label(), key,
                         is_local(args) ? "with a calibrated global scale (dynamic \"local\")" : "quantized statically");
    }
  }
  return std::nullopt;
}

Status check_group_divisibility(const recipe::Modifier& modifier, const std::vector<ClaimedModule>& claimed,
                                const model::Checkpoint& checkpoint) {
  std::vector<std::string> offenders;
  int64_t group_size = 0;
  int64_t fitting = 0;  // gcd of the claimed widths: every divisor of it fits all
  for (const auto& [module, scheme] : claimed) {
    if (!scheme || !(*scheme)["weights"].is_object()) continue;
    const auto& weights = (*scheme)["weights"];
    const auto strategy = weights.value("strategy", nlohmann::json()).get<std::string>();
    if (strategy != "group" && strategy != "tensor_group") continue;
    const auto weight = module->tensors.find("weight");
    if (weight == module->tensors.end()) continue;
    const auto ref = checkpoint.find(weight->second);
    if (!ref || ref->info->shape.empty()) continue;
    const int64_t width = ref->info->shape.back();
    group_size = weights["group_size"].get<int64_t>();
    fitting = std::gcd(fitting, width);
    if (width % group_size != 0) offenders.push_back(fmt::format("{} ({} columns)", module->name, width));
  }
  if (offenders.empty()) return Status::ok();
  std::vector<int64_t> sizes;
  for (int64_t size : {16, 32, 64, 128})
    if (fitting % size == 0) sizes.push_back(size);
  const size_t shown = std::min<size_t>(offenders.size(), 3);
  return Error{fmt::format("{}: {}: group_size {} does not divide the input width of {} layer(s): {}{}; {}",
                           modifier.location.str(), modifier.label(), group_size, offenders.size(),
                           fmt::join(offenders.begin(), offenders.begin() + shown, ", "),
                           offenders.size() > shown ? ", ..." : "",
                           sizes.empty() ? std::string("no group size of 16, 32, 64 or 128 fits them all")
                                         : fmt::format("group sizes that fit every targeted layer: {}",
                                                       fmt::join(sizes, ", ")))};
}

Expected<nlohmann::json> build_quantization_config(const model::ModuleMap& map,
                                                   const std::map<std::string, const nlohmann::json*>& quantized,
                                                   const nlohmann::json& kv_cache_scheme) {
  if (quantized.empty() && kv_cache_scheme.is_null()) return nlohmann::json();
  std::vector<format::ModuleQuantization> modules;
  modules.reserve(map.modules.size());
  for (const auto& module : map.modules) {
    const auto it = quantized.find(module.name);
    modules.push_back({module.name, module.class_names.empty() ? std::string_view() : module.class_names.front(),
                       it == quantized.end() ? nullptr : it->second});
  }
  auto inputs = format::collect_quantization(modules);
  inputs.kv_cache_scheme = kv_cache_scheme;
  return format::quantization_config(inputs);
}

}  // namespace llmc::pipeline
