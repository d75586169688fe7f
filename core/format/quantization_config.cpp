// core/format/quantization_config.cpp - config groups, the ignore list and the global format as the
// reference derives them.
#include "format/quantization_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "format/format.h"

namespace llmc::format {
namespace {

// Python's re.search(r"Gate(?![a-z])", name).
bool has_gate_word(std::string_view name) {
  for (size_t at = name.find("Gate"); at != std::string_view::npos; at = name.find("Gate", at + 1)) {
    const size_t next = at + 4;
    if (next == name.size() || !std::islower(static_cast<unsigned char>(name[next]))) return true;
  }
  return false;
}

}  // namespace

std::string_view vllm_module_type(std::string_view class_name) {
  if (class_name.find("ExpertMLP") != std::string_view::npos) return class_name;
  if (class_name.find("Router") != std::string_view::npos || class_name.find("Gating") != std::string_view::npos ||
      has_gate_word(class_name)) {
    return "Linear";
  }
  return class_name;
}

QuantizationConfigInputs collect_quantization(std::span<const ModuleQuantization> modules) {
  QuantizationConfigInputs inputs;
  std::set<std::string_view> quantized_types;
  for (const auto& module : modules) {
    if (!module.scheme) continue;
    quantized_types.insert(vllm_module_type(module.class_name));
    if (std::find(inputs.schemes.begin(), inputs.schemes.end(), *module.scheme) == inputs.schemes.end()) {
      inputs.schemes.push_back(*module.scheme);
    }
  }
  // CT groups the ignored names by type (in order of each type's first module) before flattening.
  std::vector<std::string_view> types;
  for (const auto& module : modules) {
    const std::string_view type = vllm_module_type(module.class_name);
    if (!module.scheme && std::find(types.begin(), types.end(), type) == types.end()) types.push_back(type);
  }
  for (const std::string_view type : types) {
    if (!quantized_types.contains(type)) continue;
    for (const auto& module : modules) {
      if (!module.scheme && vllm_module_type(module.class_name) == type) inputs.ignore.emplace_back(module.name);
    }
  }
  return inputs;
}

Expected<nlohmann::json> quantization_config(const QuantizationConfigInputs& inputs) {
  nlohmann::json groups = nlohmann::json::object();
  std::set<std::string> formats;
  for (size_t i = 0; i < inputs.schemes.size(); ++i) {
    const nlohmann::json& scheme = inputs.schemes[i];
    const std::string group = fmt::format("group_{}", i);
    if (!scheme.is_object() || !scheme.contains("targets") || !scheme["targets"].is_array()) {
      return Error{fmt::format("config group {} has no targets list", group)};
    }
    const auto format = scheme.find("format");
    if (format == scheme.end() || !format->is_string()) {
      return Error{fmt::format("config group {} (targets {}) has no format", group, scheme["targets"].dump())};
    }
    auto parsed = parse_format(format->get<std::string>());
    if (!parsed) {
      return Error{fmt::format("config group {} (targets {}): {}", group, scheme["targets"].dump(),
                               parsed.error().message)};
    }
    formats.insert(format->get<std::string>());
    groups[group] = scheme;
  }
  nlohmann::json config;
  config["version"] = kCompressedTensorsVersion;
  config["quant_method"] = "compressed-tensors";
  config["config_groups"] = std::move(groups);
  config["format"] = formats.empty() ? "dense" : formats.size() == 1 ? *formats.begin() : "mixed-precision";
  config["ignore"] = inputs.ignore;
  config["kv_cache_scheme"] = inputs.kv_cache_scheme;
  config["quantization_status"] = "compressed";
  config["global_compression_ratio"] = nullptr;
  config["sparsity_config"] = nlohmann::json::object();
  config["transform_config"] = inputs.transform_config;
  return config;
}

}  // namespace llmc::format
