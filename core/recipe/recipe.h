// core/recipe/recipe.h - a parsed TOML recipe: calibration settings and the ordered modifiers, each with
// its targets, its resolved compressed-tensors quantization schemes, and its plugin-specific keys.
#pragma once

#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "recipe/source_location.h"
#include "util/expected.h"

namespace llmc::recipe {

/// One quantization scheme of a modifier: a [[modifier.group]] table, or the modifier's own `scheme` /
/// `weights` / `*_activations` keys (then `targets` are the modifier's).
struct QuantizationGroup {
  std::vector<std::string> targets;
  /// The full compressed-tensors QuantizationScheme: targets, weights, input_activations,
  /// output_activations (every QuantizationArgs field, CT's defaults and LLM Compressor's observer
  /// defaults applied, as CT dumps it; null when absent) and format (inferred; see infer_format).
  nlohmann::json scheme;
  SourceLocation location;  // the [[modifier.group]] header, or the modifier's first quantization key
};

struct KvCacheScheme {
  nlohmann::json args;  // a QuantizationArgs, as CT dumps it
  SourceLocation location;
};

struct Modifier {
  size_t index = 0;  // 0-based position in the recipe
  std::string plugin;
  SourceLocation location;  // the [[modifier]] header
  /// What the modifier claims (compressed-tensors target strings). With groups: every group's targets,
  /// in order, each once.
  std::vector<std::string> targets;
  std::vector<std::string> ignore;
  /// Empty: the modifier sets no quantization scheme.
  std::vector<QuantizationGroup> groups;
  std::optional<KvCacheScheme> kv_cache_scheme;
  /// Every key the host does not own, with its source positions; see bind_plugin_options. Never null;
  /// shared because copying a toml::table drops the source positions of its values.
  std::shared_ptr<const toml::table> plugin_keys = std::make_shared<const toml::table>();

  bool sets_quantization() const { return !groups.empty() || kv_cache_scheme.has_value(); }
  /// "modifier 2 (gptq)": counted from 1, as users count.
  std::string label() const;
};

/// [calibration]; command-line flags override these.
struct Calibration {
  std::optional<std::string> dataset;
  std::optional<int64_t> samples;
  std::optional<int64_t> max_seq_length;
  std::optional<int64_t> seed;
  std::optional<bool> shuffle;      // false: the longest samples first, in file order (the reference's no-shuffle)
  std::optional<bool> concatenate;  // join the samples and cut max_seq_length chunks (the reference's concatenate_data)
};

struct Recipe {
  std::string file;  // the display name every location refers to
  std::vector<Modifier> modifiers;
  Calibration calibration;
  std::string text;  // verbatim, to save beside the output
};

/// The keys of a [[modifier]] table that the host owns; every other key belongs to the plugin.
std::span<const std::string_view> host_modifier_keys();

/// Parses a recipe. Every error reads "file:line:column: what", naming the key at fault.
Expected<Recipe> parse_recipe_file(const std::filesystem::path& path);
/// `display_name` stands for the file name in locations.
Expected<Recipe> parse_recipe_string(std::string_view text, std::string display_name);

}  // namespace llmc::recipe
