// core/format/config_reader.cpp - parsing quantization_config and matching modules to its groups
// (compressed_tensors.utils.match.match_targets).
#include "format/config_reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "recipe/presets.h"
#include "recipe/python_regex.h"

namespace llmc::format {
namespace {

using recipe::QuantArgs;

Expected<std::optional<QuantArgs>> optional_args(const nlohmann::json& scheme, std::string_view key) {
  const auto found = scheme.find(key);
  if (found == scheme.end() || found->is_null()) return std::optional<QuantArgs>();
  auto args = recipe::quant_args_from_json(*found);
  if (!args) return Error{fmt::format("'{}': {}", key, args.error().message)};
  return std::optional<QuantArgs>(std::move(*args));
}

Expected<ConfigGroup> read_group(const std::string& name, const nlohmann::json& value, const std::string& global) {
  ConfigGroup group;
  group.name = name;
  std::optional<std::string> format;
  if (value.is_array()) {  // "W4A16": ["Linear"]
    const auto preset = recipe::find_preset(name);
    if (!preset) return Error{fmt::format("'{}' maps targets but names no preset scheme", name)};
    group.scheme = {preset->weights, preset->input_activations, std::nullopt};
    for (const auto& target : value) group.targets.push_back(target.get<std::string>());
  } else if (value.is_object()) {
    for (const auto& [key, _] : value.items()) {
      if (key != "targets" && key != "weights" && key != "input_activations" && key != "output_activations" &&
          key != "format") {
        return Error{fmt::format("unknown scheme key '{}'", key)};
      }
    }
    const auto targets = value.find("targets");
    if (targets == value.end() || !targets->is_array()) return Error{"the scheme has no targets list"};
    for (const auto& target : *targets) {
      if (!target.is_string()) return Error{"targets must be strings"};
      group.targets.push_back(target.get<std::string>());
    }
    auto weights = optional_args(value, "weights");
    LLMC_TRY(weights);
    auto inputs = optional_args(value, "input_activations");
    LLMC_TRY(inputs);
    auto outputs = optional_args(value, "output_activations");
    LLMC_TRY(outputs);
    group.scheme = {std::move(*weights), std::move(*inputs), std::move(*outputs)};
    if (const auto found = value.find("format"); found != value.end() && found->is_string()) format = *found;
  } else {
    return Error{"a config group must be a scheme object"};
  }
  if (!format && global != "mixed-precision" && global != "dense" && !global.empty()) format = global;
  if (!format) format = std::string(recipe::infer_format(group.scheme));
  if (!group.scheme.weights) {
    group.format = Format::naive_quantized;  // activation-only groups store no weight layout
    return group;
  }
  auto parsed = parse_format(*format);
  if (!parsed) return parsed.error();
  group.format = *parsed;
  return group;
}

bool matches_name(std::string_view target, std::string_view name) {
  if (!target.starts_with("re:")) return target == name;
  auto regex = recipe::compile_python_regex(target.substr(3));
  return regex && recipe::python_re_match(*regex, name);
}

bool matches(std::string_view target, std::string_view name, std::span<const std::string> class_names) {
  return matches_name(target, name) || std::find(class_names.begin(), class_names.end(), target) != class_names.end();
}

}  // namespace

Expected<CheckpointQuantization> parse_quantization_config(const nlohmann::json& config) {
  if (!config.is_object()) return Error{"quantization_config must be an object"};
  if (config.value("quant_method", "compressed-tensors") != "compressed-tensors") {
    return Error{fmt::format("quant_method is '{}', not compressed-tensors", config.value("quant_method", ""))};
  }
  CheckpointQuantization result;
  result.format = config.value("format", "");
  result.quantization_status = config.value("quantization_status", "initialized");
  const auto groups = config.find("config_groups");
  if (groups == config.end() || !groups->is_object()) return Error{"quantization_config has no config_groups"};
  for (const auto& [name, value] : groups->items()) {
    auto group = read_group(name, value, result.format);
    if (!group) return Error{fmt::format("config group '{}': {}", name, group.error().message)};
    result.groups.push_back(std::move(*group));
  }
  if (const auto ignore = config.find("ignore"); ignore != config.end() && ignore->is_array()) {
    for (const auto& entry : *ignore) result.ignore.push_back(entry.get<std::string>());
  }
  if (const auto kv = config.find("kv_cache_scheme"); kv != config.end() && !kv->is_null()) {
    auto args = recipe::quant_args_from_json(*kv);
    if (!args) return Error{"kv_cache_scheme: " + args.error().message};
    result.kv_cache_scheme = std::move(*args);
  }
  return result;
}

Expected<const ConfigGroup*> CheckpointQuantization::find_group(std::string_view module_name,
                                                                std::span<const std::string> class_names) const {
  for (const std::string& entry : ignore) {
    if (matches(entry, module_name, class_names)) return static_cast<const ConfigGroup*>(nullptr);
  }
  std::map<std::string, const ConfigGroup*> by_target;  // a later group repeating a target wins
  for (const ConfigGroup& group : groups) {
    for (const std::string& target : group.targets) {
      if (target.starts_with("re:") && !recipe::compile_python_regex(target.substr(3))) {
        return Error{fmt::format("config group '{}': target '{}' is no usable regex", group.name, target)};
      }
      by_target[target] = &group;
    }
  }
  std::vector<std::string_view> targets;
  for (const auto& [target, _] : by_target) targets.push_back(target);
  // CT sorts by ("re:" in target, target).
  std::stable_sort(targets.begin(), targets.end(), [](std::string_view a, std::string_view b) {
    return a.find("re:") == std::string_view::npos && b.find("re:") != std::string_view::npos;
  });
  for (const std::string_view target : targets) {
    if (matches_name(target, module_name)) return by_target.find(std::string(target))->second;
  }
  for (const std::string_view target : targets) {
    if (std::find(class_names.begin(), class_names.end(), target) != class_names.end()) {
      return by_target.find(std::string(target))->second;
    }
  }
  return static_cast<const ConfigGroup*>(nullptr);
}

}  // namespace llmc::format
