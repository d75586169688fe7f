// core/recipe/plugin_options.h - a modifier's plugin-specific keys, checked against the keys its plugin
// declares (llmc_option_spec) and bound to typed values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "llmc/plugin.h"
#include "recipe/recipe.h"
#include "util/expected.h"

namespace llmc::recipe {

struct OptionValue {
  /// By llmc_option_type: BOOL bool, INT int64_t, FLOAT double, STRING std::string,
  /// STRING_LIST std::vector<std::string>, FLOAT_LIST std::vector<double>.
  std::variant<bool, int64_t, double, std::string, std::vector<std::string>, std::vector<double>> value;
  SourceLocation location;  // where the recipe set it, or the modifier's header for a default
};

using OptionValues = std::map<std::string, OptionValue, std::less<>>;

/// Checks every plugin-specific key of `modifier` against the plugin's `specs` (unknown key, wrong type:
/// errors at the key or value, listing the plugin's keys), reports missing required keys at the
/// modifier, and fills in the defaults (TOML value literals). A malformed spec or default, or a spec
/// that redeclares a host key (targets, scheme, ...), is the plugin's bug: an error naming the plugin.
/// FLOAT accepts integers; FLOAT_LIST accepts integers and floats.
Expected<OptionValues> bind_plugin_options(const Modifier& modifier, const llmc_option_spec* specs, size_t count);

/// Fails when `modifier` sets a quantization scheme (scheme, weights, *_activations, kv_cache_scheme,
/// [[modifier.group]]) and its plugin does not quantize (no LLMC_CAP_QUANTIZES).
Status check_quantization_allowed(const Modifier& modifier, bool plugin_quantizes, std::string_view plugin_name);

}  // namespace llmc::recipe
