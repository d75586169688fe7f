// core/format/config_reader.h - a checkpoint's "quantization_config" read back: its config groups as typed
// schemes with their formats, the ignore list, and which group quantizes a module.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "format/format.h"
#include "recipe/quant_scheme.h"
#include "util/expected.h"

namespace llmc::format {

struct ConfigGroup {
  std::string name;  // "group_0"
  std::vector<std::string> targets;
  recipe::SchemeArgs scheme;
  Format format;  // the group's own; else the global one; else inferred from the args (vLLM's order)
};

struct CheckpointQuantization {
  std::vector<ConfigGroup> groups;  // in config order
  std::vector<std::string> ignore;
  std::optional<recipe::QuantArgs> kv_cache_scheme;
  std::string format;               // the global format
  std::string quantization_status;

  /// The group that quantizes the module, by CT's rule: nullptr when an ignore entry (name, "re:" regex
  /// or class name) matches it; else the group of its first matching target, exact names before regexes
  /// (each alphabetically), then class names; a target string repeated across groups belongs to the last.
  Expected<const ConfigGroup*> find_group(std::string_view module_name, std::span<const std::string> class_names) const;
};

/// Reads the object under config.json's "quantization_config". Config groups written as a preset name
/// mapped to targets ("W4A16": ["Linear"]) are expanded, as CT does.
Expected<CheckpointQuantization> parse_quantization_config(const nlohmann::json& config);

}  // namespace llmc::format
